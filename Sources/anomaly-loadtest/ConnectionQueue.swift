/// Idle connections of one kind, oldest first, so that paced load rotates over all of them
/// instead of wearing out the most recent one while the rest time out.
struct ConnectionQueue {
    private var items: [Int] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func push(_ index: Int) {
        items.append(index)
    }

    /// The connection idle the longest, or nil.
    mutating func pop() -> Int? {
        guard head < items.count else { return nil }
        let index = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 {
            items.removeFirst(head)
            head = 0
        }
        return index
    }

    /// Takes a connection out of the queue (the server closed it while idle). Linear, but rare.
    mutating func remove(_ index: Int) {
        if let position = items[head...].firstIndex(of: index) {
            items.remove(at: position)
        }
    }
}
