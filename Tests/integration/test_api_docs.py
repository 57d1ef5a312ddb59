"""Static checks of api_docs/: no services needed.

- api_docs/openapi.yaml is a valid OpenAPI document (openapi-spec-validator), documents every route the
  Swift sources register (with its method), uses the one Error schema for every 4xx/5xx, documents
  Retry-After on every 503, and its examples match its schemas;
- api_docs/index.html (served at /docs under `default-src 'none'`) makes no external request, stays small
  and mentions every documented path.

    python3 -m pytest Tests/integration/test_api_docs.py -q

Needs `pyyaml` and `openapi-spec-validator` (Tests/system/requirements.txt).
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "api_docs" / "openapi.yaml"
PAGE_PATH = ROOT / "api_docs" / "index.html"
ROUTE_SOURCES = sorted((ROOT / "Sources" / "ServiceSupport" / "Routes").glob("*.swift")) + sorted(
    ROOT.glob("Sources/*-service/*.swift")
)
# router.get("/x", ...), router.post("/x/:id", ...), router.add(.post, "/x/:id", ...)
ROUTE_CALL = re.compile(r'router\.(get|post|add)\(\s*(?:\.(\w+)\s*,\s*)?"([^"]*)"')
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
MAX_PAGE_BYTES = 60 * 1024


def _require(module):
    try:
        return __import__(module)
    except ImportError:
        pytest.fail(f"python module '{module}' missing: python3 -m pip install -r Tests/system/requirements.txt")


def registered_routes():
    """(method, OpenAPI path, where) for every route call in the route sources, `:name` turned into `{name}`."""
    routes = []
    for source in ROUTE_SOURCES:
        text = source.read_text()
        for match in ROUTE_CALL.finditer(text):
            call, method, pattern = match.groups()
            method = (method if call == "add" else call).lower()
            path = re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", pattern)
            line = text.count("\n", 0, match.start()) + 1
            routes.append((method, path, f"{source.relative_to(ROOT)}:{line}"))
    return routes


ROUTES = registered_routes()


@pytest.fixture(scope="module")
def spec():
    yaml = _require("yaml")
    assert SPEC_PATH.is_file(), f"{SPEC_PATH} missing"
    document = yaml.safe_load(SPEC_PATH.read_text())
    assert isinstance(document, dict), "openapi.yaml is not a YAML mapping"
    return document


@pytest.fixture(scope="module")
def page():
    assert PAGE_PATH.is_file(), f"{PAGE_PATH} missing"
    return PAGE_PATH.read_text(encoding="utf-8")


def resolve(spec, node):
    """Follows local `$ref`s (`#/components/...`) until a node without one."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in seen, f"unresolvable or circular $ref {ref}"
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


# (a) the document is valid


def test_spec_is_valid_openapi(spec):
    validator = _require("openapi_spec_validator")
    validator.validate(spec)
    assert str(spec["openapi"]).startswith("3.1"), spec["openapi"]


def test_spec_names_the_three_services(spec):
    ports = {re.search(r":(\d+)", server["url"]).group(1) for server in spec["servers"]}
    assert ports == {"8000", "8001", "8002"}, ports
    tags = {tag["name"] for tag in spec["tags"]}
    assert {"training", "inference", "monitoring"} <= tags, tags
    for path, method, operation in operations(spec):
        assert operation.get("tags"), f"{method.upper()} {path} has no service tag"
        assert set(operation["tags"]) <= tags, f"{method.upper()} {path}: unknown tags {operation['tags']}"


# (b) every registered route is documented


def test_route_sources_are_found():
    assert ROUTE_SOURCES, "no route sources found under Sources/"
    paths = {path for _, path, _ in ROUTES}
    # The regex must still see the core routes; if it finds none the test below would pass vacuously.
    assert {"/fit/{series_id}", "/predict/{series_id}", "/healthcheck"} <= paths, sorted(paths)


@pytest.mark.parametrize("method, path, where", ROUTES, ids=[f"{m.upper()} {p}" for m, p, _ in ROUTES])
def test_registered_route_is_documented(spec, method, path, where):
    assert path in spec["paths"], f"{method.upper()} {path} ({where}) is not in api_docs/openapi.yaml paths"
    assert method in spec["paths"][path], f"{path} ({where}) is documented but not its {method.upper()}"


def test_path_parameters_are_declared(spec):
    for path, method, operation in operations(spec):
        declared = {resolve(spec, p)["name"] for p in operation.get("parameters", []) if resolve(spec, p)["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method.upper()} {path}: path parameters {declared}"


# The shared error shape


def test_every_error_response_uses_the_error_schema(spec):
    error_ref = "#/components/schemas/Error"
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not str(status)[0] in "45":
                continue
            body = resolve(spec, response)
            page = "text/html" in resolve(spec, operation["responses"]["200"]).get("content", {})
            if page and set(body["content"]) == {"text/html"}:
                continue  # an HTML page answers a person's 404 with a page; its other errors are still JSON
            schema = body["content"]["application/json"]["schema"]
            refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("oneOf", [])]
            assert error_ref in refs, f"{method.upper()} {path} {status} does not use {error_ref}: {schema}"


def test_every_503_documents_retry_after(spec):
    for path, method, operation in operations(spec):
        if "503" in operation["responses"]:
            headers = resolve(spec, operation["responses"]["503"]).get("headers", {})
            assert "Retry-After" in headers, f"{method.upper()} {path} 503 has no Retry-After header"


def test_identifiers_have_their_patterns(spec):
    series = resolve(spec, {"$ref": "#/components/parameters/SeriesIdPath"})["schema"]
    version = resolve(spec, {"$ref": "#/components/parameters/VersionQuery"})["schema"]
    assert series["pattern"] == "^[A-Za-z0-9_.-]{1,128}$"
    # What the services accept as a version: 1 to 9 digits, no leading zero, optionally after v or V.
    accepted, refused = ["3", "v3", "V17", "999999999"], ["0", "v0", "03", "1234567890", "x", "v", "3v", ""]
    assert all(re.fullmatch(version["pattern"].strip("^$"), v) for v in accepted)
    assert not any(re.fullmatch(version["pattern"].strip("^$"), v) for v in refused)


def _examples(spec):
    """(where, schema, example) for every example given next to a schema in the document."""
    def media(where, content):
        for media_type, entry in content.items():
            if "schema" not in entry:
                continue
            if "example" in entry:
                yield f"{where} {media_type} example", entry["schema"], entry["example"]
            for name, example in (entry.get("examples") or {}).items():
                example = resolve(spec, example)
                if "value" in example:
                    yield f"{where} {media_type} examples.{name}", entry["schema"], example["value"]

    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        if "requestBody" in operation:
            yield from media(f"{where} request", resolve(spec, operation["requestBody"])["content"])
        for status, response in operation["responses"].items():
            yield from media(f"{where} {status}", resolve(spec, response).get("content", {}))
        for parameter in operation.get("parameters", []):
            parameter = resolve(spec, parameter)
            if "example" in parameter:
                yield f"{where} parameter {parameter['name']}", parameter["schema"], parameter["example"]
            for name, example in (parameter.get("examples") or {}).items():
                yield f"{where} parameter {parameter['name']} examples.{name}", parameter["schema"], example["value"]
    for name, schema in spec["components"]["schemas"].items():
        for index, example in enumerate(schema.get("examples", [])):
            yield f"components.schemas.{name} examples[{index}]", {"$ref": f"#/components/schemas/{name}"}, example


def test_examples_match_their_schemas(spec):
    _require("jsonschema")
    try:
        from openapi_schema_validator import OAS31Validator as Validator
    except ImportError:
        from jsonschema import Draft202012Validator as Validator
    checked, problems = 0, []
    for where, schema, example in _examples(spec):
        # The schema is checked as the root of a copy of the whole document, so `#/components/...` resolves.
        root = {key: value for key, value in spec.items() if key in ("components",)}
        root.update(schema)
        errors = sorted(Validator(root).iter_errors(example), key=str)
        if errors:
            problems.append(f"{where}: {errors[0].message}")
        checked += 1
    assert checked > 20, f"only {checked} examples found"
    assert not problems, "\n".join(problems)


def test_seed_examples_are_documented(spec):
    fit = spec["paths"]["/fit/{series_id}"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert {"timestamps": [1609459200, 1609459260, 1609459320], "values": [23.5, 24.1, 23.8], "threshold": 3.0} in [
        e["value"] for e in fit.values()
    ]
    predict = spec["paths"]["/predict/{series_id}"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert {"timestamp": "1609459500", "value": 25.5} in [e["value"] for e in predict.values()]


# (c) the /docs page is self-contained


class _PageScan(HTMLParser):
    URL_ATTRIBUTES = {"src", "href", "action", "formaction", "srcset", "poster", "data", "background", "cite",
                      "manifest", "xlink:href", "ping", "longdesc", "codebase", "archive", "icon"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.external = []
        self.tags = []
        self.styles = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            value = (value or "").strip()
            if name in self.URL_ATTRIBUTES and re.match(r"(?i)^(https?:)?//|^[a-z][a-z0-9+.-]*:(?!#)", value) \
                    and not value.lower().startswith(("mailto:", "data:")):
                self.external.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.styles.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def test_docs_page_makes_no_external_requests(page):
    scan = _PageScan()
    scan.feed(page)
    assert not scan.external, f"URLs in attributes of index.html: {scan.external}"
    for tag, attrs in scan.tags:
        assert not (tag == "script" and "src" in attrs), f"external script {attrs}"
        assert not (tag == "link" and "href" in attrs and not attrs["href"].startswith("#")), f"linked resource {attrs}"
        assert tag not in ("iframe", "img", "object", "embed", "base"), f"<{tag}> in index.html"
    for css in scan.styles:
        assert "@import" not in css and not re.search(r"url\(\s*['\"]?(?!data:|#)", css), f"CSS loads a resource: {css[:200]}"


def test_docs_page_urls_are_localhost_examples_only(page):
    for url in re.findall(r"https?://[^\s\"'<>)]+", page):
        assert re.match(r"https?://(localhost|127\.0\.0\.1)(:\d+)?(/|$)", url), f"non-localhost URL in index.html: {url}"


def test_docs_page_is_small_and_static(page):
    size = len(page.encode("utf-8"))
    assert size < MAX_PAGE_BYTES, f"index.html is {size} bytes; keep it under {MAX_PAGE_BYTES}"
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page.lower()


def test_docs_page_mentions_every_documented_path(spec, page):
    text = page.replace("&#123;", "{").replace("&#125;", "}")
    for path in spec["paths"]:
        assert path in text, f"{path} is in openapi.yaml but not in index.html"
    for status in ("400", "404", "405", "408", "413", "414", "415", "422", "431", "503"):
        assert status in text, f"status {status} not described in index.html"
