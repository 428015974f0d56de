//! The JSON API (`/+api/v1/`) and its tokens: the OpenAPI document against the route table, a
//! contract test calling every endpoint and checking each answer against the document's schemas,
//! a stale `If-Match` that loses nothing, what a missing, bad, expired, revoked or read-only token
//! gets, the limits, and the documentation's curl script run against `quire serve`.

use std::collections::BTreeSet;
use std::path::Path;

use gateway::testing::{TestRequest, TestResponse};
use http::{Method, StatusCode};
use quire::datadir::DataDir;
use quire::wiki::api::OPENAPI;
use quire::wiki::plumbing::api_routes::{ApiRoute, TEMPLATES};
use quire::wiki::plumbing::routes::{Methods, Route};
use serde_json::Value;
use storage::{NewApiToken, Role, TokenScope};
use tempfile::TempDir;

use crate::drivers::{create_accounts, InProcess, Serve};
use crate::suite::{Browser, Gateway};

const PASSWORD: &str = "correct horse battery staple";

/// A wiki with the accounts alice and bob (users) and root (admin), and `settings`.
fn wiki(settings: &str) -> InProcess {
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), settings).unwrap();
    let wiki = InProcess::start_in(data);
    create_accounts(
        wiki.data_dir(),
        &[
            ("alice", Role::User),
            ("bob", Role::User),
            ("root", Role::Admin),
        ],
        PASSWORD,
    );
    wiki
}

/// A new token for `user`, made in the database as `quire user token` makes it.
fn token(data: &Path, user: &str, scope: TokenScope, expires: Option<i64>) -> String {
    let storage = DataDir::locate(Some(data)).open_storage().unwrap();
    storage
        .create_api_token(&NewApiToken {
            user,
            label: "test",
            scope,
            expires,
        })
        .unwrap()
        .secret
}

fn with_token(request: TestRequest, token: Option<&str>) -> TestRequest {
    match token {
        Some(token) => request.with_header("authorization", &format!("Bearer {token}")),
        None => request,
    }
}

fn get(gw: &dyn Gateway, target: &str, token: Option<&str>) -> TestResponse {
    gw.send(with_token(TestRequest::get(target), token))
}

/// `PUT target` with a JSON body, and `If-Match: "rev"` when given.
fn put(
    gw: &dyn Gateway,
    target: &str,
    token: Option<&str>,
    if_match: Option<u64>,
    body: &Value,
) -> TestResponse {
    let mut request = TestRequest::get(target).with_header("content-type", "application/json");
    request.method = Method::PUT;
    request.body = body.to_string().into_bytes();
    if let Some(rev) = if_match {
        request = request.with_header("if-match", &format!("\"{rev}\""));
    }
    gw.send(with_token(request, token))
}

fn put_bytes(gw: &dyn Gateway, target: &str, token: Option<&str>, bytes: &[u8]) -> TestResponse {
    let mut request =
        TestRequest::get(target).with_header("content-type", "application/octet-stream");
    request.method = Method::PUT;
    request.body = bytes.to_vec();
    gw.send(with_token(request, token))
}

fn json(response: &TestResponse) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("{err}: {} {}", response.status, response.text()))
}

fn save(text: &str) -> Value {
    serde_json::json!({ "text": text, "comment": "by the API" })
}

fn openapi() -> Value {
    serde_json::from_str(OPENAPI).unwrap()
}

/// The methods a route of `methods` answers, as OpenAPI names operations (HEAD goes with GET).
fn operations(methods: Methods) -> BTreeSet<&'static str> {
    [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
    ]
    .into_iter()
    .filter(|(_, method)| methods.allows(method))
    .map(|(name, _)| name)
    .collect()
}

/// An API route of every template, for the methods GET and PUT.
fn one_route_of_each_template() -> Vec<ApiRoute> {
    [
        "v1/pages/A/B",
        "v1/pages/A/history",
        "v1/pages/A/revisions/1",
        "v1/pages/A/files/a.txt",
        "v1/recent",
        "v1/search",
        "v1/index",
        "v1/openapi.json",
    ]
    .iter()
    .map(|path| ApiRoute::parse(path).unwrap())
    .collect()
}

#[test]
fn the_openapi_document_describes_every_api_route_and_only_those() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let described: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let routed: BTreeSet<&str> = TEMPLATES.iter().copied().collect();
    assert_eq!(described, routed, "paths described and paths routed");
    let routes = one_route_of_each_template();
    assert_eq!(routes.len(), TEMPLATES.len());
    for route in routes {
        let template = route.template();
        // Each template's methods, over the routes a method turns it into (a PUT is a save).
        let mut methods = BTreeSet::new();
        for method in [Method::GET, Method::PUT, Method::POST] {
            let as_sent = Route::Api(route.clone()).for_method(&method);
            if as_sent.methods().allows(&method) {
                methods.extend(
                    operations(as_sent.methods())
                        .into_iter()
                        .filter(|name| name.eq_ignore_ascii_case(method.as_str())),
                );
            }
        }
        let operations: BTreeSet<&str> = paths[template]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|key| *key != "parameters")
            .collect();
        assert_eq!(operations, methods, "the operations of {template}");
    }
}

/// Checks `value` against `schema`: the subset of JSON Schema the document uses (`type`, with a
/// list of types; `properties`, `required`, `additionalProperties: false`, `items`, `enum`, and
/// `$ref` into `#/components/schemas/`).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("{at}: an unknown $ref {reference}"))?;
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{at}: a type that is neither a name nor a list")),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits =
            allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            return Err(format!("{at}: {actual} where {allowed:?} is described"));
        }
        if actual == "null" {
            return Ok(());
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            return Err(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                return Err(format!("{at}: no {required}"));
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, member) in object {
            match properties.get(key) {
                Some(property) => check(doc, property, member, &format!("{at}.{key}"))?,
                None if closed => return Err(format!("{at}: {key} is not described")),
                None => {}
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, schema, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks `response` to `method path` against what the document says that operation answers
/// with its status, and records the operation as called.
fn conforms(
    doc: &Value,
    called: &mut BTreeSet<(String, String)>,
    method: &Method,
    path: &str,
    response: &TestResponse,
) {
    let below = path.split('?').next().unwrap();
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(below).collect();
    let decoded = String::from_utf8(decoded).unwrap();
    let route = ApiRoute::parse(decoded.strip_prefix("/+api/").unwrap()).unwrap();
    let template = route.template();
    let operation = method.as_str().to_ascii_lowercase();
    let described = &doc["paths"][template][&operation];
    assert!(
        described.is_object(),
        "{method} {template} is not described"
    );
    let status = response.status.as_u16().to_string();
    let mut answer = &described["responses"][&status];
    assert!(
        answer.is_object(),
        "{method} {path}: {status} is not described: {}",
        response.text()
    );
    if let Some(reference) = answer.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/components/responses/").unwrap();
        answer = &doc["components"]["responses"][name];
    }
    let content_type = response.header("content-type").unwrap_or_default();
    let essence = content_type.split(';').next().unwrap().trim();
    let content = &answer["content"];
    let media = content
        .as_object()
        .and_then(|types| {
            types
                .get(essence)
                .or_else(|| types.get("application/octet-stream"))
        })
        .unwrap_or_else(|| panic!("{method} {path}: {essence} is not described for {status}"));
    if essence.ends_with("json") {
        let value = json(response);
        if let Err(err) = check(doc, &media["schema"], &value, "$") {
            panic!("{method} {path} ({status}) does not fit the document: {err}\n{value:#}");
        }
    }
    called.insert((template.to_owned(), operation));
}

#[test]
fn every_endpoint_answers_as_the_openapi_document_describes() {
    let wiki = wiki("");
    let write = token(wiki.data_dir(), "alice", TokenScope::Write, None);
    let read = token(wiki.data_dir(), "alice", TokenScope::Read, None);
    let doc = openapi();
    let mut called = BTreeSet::new();
    let mut check = |method: Method, path: &str, response: &TestResponse, status: StatusCode| {
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        conforms(&doc, &mut called, &method, path, response);
    };
    let page = "/+api/v1/pages/Team/Notes";

    let created = put(
        &wiki,
        page,
        Some(&write),
        None,
        &save("# Notes\n\nOne kumquat.\n"),
    );
    check(Method::PUT, page, &created, StatusCode::CREATED);
    assert_eq!(json(&created)["revision"], 1);
    let again = put(&wiki, page, Some(&write), None, &save("other"));
    check(Method::PUT, page, &again, StatusCode::PRECONDITION_REQUIRED);
    let saved = put(
        &wiki,
        page,
        Some(&write),
        Some(1),
        &save("# Notes\n\nTwo kumquats.\n"),
    );
    check(Method::PUT, page, &saved, StatusCode::OK);
    let stale = put(
        &wiki,
        page,
        Some(&write),
        Some(1),
        &save("# Notes\n\nThree.\n"),
    );
    check(Method::PUT, page, &stale, StatusCode::CONFLICT);
    let forbidden = put(&wiki, page, Some(&read), Some(2), &save("read only"));
    check(Method::PUT, page, &forbidden, StatusCode::FORBIDDEN);
    let anonymous = put(&wiki, page, None, Some(2), &save("no token"));
    check(Method::PUT, page, &anonymous, StatusCode::UNAUTHORIZED);

    let file = format!("{page}/files/notes.txt");
    let stored = put_bytes(&wiki, &file, Some(&write), b"a plain kumquat file\n");
    check(Method::PUT, &file, &stored, StatusCode::CREATED);
    let bytes = get(&wiki, &file, Some(&read));
    check(Method::GET, &file, &bytes, StatusCode::OK);
    assert_eq!(bytes.body, b"a plain kumquat file\n");

    let got = get(&wiki, page, None);
    check(Method::GET, page, &got, StatusCode::OK);
    let got = json(&got);
    assert_eq!(got["revision"], 2);
    assert!(got["html"].as_str().unwrap().contains("Two kumquats"));
    assert_eq!(got["attachments"][0]["name"], "notes.txt");
    let missing = get(&wiki, "/+api/v1/pages/Nowhere", Some(&read));
    check(
        Method::GET,
        "/+api/v1/pages/Nowhere",
        &missing,
        StatusCode::NOT_FOUND,
    );
    let bad = get(&wiki, page, Some("quire_not-a-token"));
    check(Method::GET, page, &bad, StatusCode::UNAUTHORIZED);

    let history = format!("{page}/history");
    let listed = get(&wiki, &history, Some(&read));
    check(Method::GET, &history, &listed, StatusCode::OK);
    assert_eq!(json(&listed)["revisions"].as_array().unwrap().len(), 2);
    let revision = format!("{page}/revisions/1");
    let first = get(&wiki, &revision, Some(&read));
    check(Method::GET, &revision, &first, StatusCode::OK);
    assert_eq!(json(&first)["text"], "# Notes\n\nOne kumquat.\n");

    let recent = "/+api/v1/recent?since=0";
    let changes = get(&wiki, recent, Some(&read));
    check(Method::GET, recent, &changes, StatusCode::OK);
    assert_eq!(json(&changes)["changes"][0]["page"], "Team/Notes");
    let index = "/+api/v1/index?prefix=Team/";
    let names = get(&wiki, index, None);
    check(Method::GET, index, &names, StatusCode::OK);
    assert_eq!(json(&names)["pages"][0]["name"], "Team/Notes");
    let search = "/+api/v1/search?q=kumquats";
    let found = crate::suite::eventually(&wiki, search, |body| body.contains("Team/Notes"));
    assert!(found.contains("\"total\":"));
    check(
        Method::GET,
        search,
        &get(&wiki, search, None),
        StatusCode::OK,
    );
    let described = "/+api/v1/openapi.json";
    check(
        Method::GET,
        described,
        &get(&wiki, described, None),
        StatusCode::OK,
    );

    let mut every = BTreeSet::new();
    for (template, item) in openapi()["paths"].as_object().unwrap() {
        for operation in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|key| *key != "parameters")
        {
            every.insert((template.clone(), operation.clone()));
        }
    }
    assert_eq!(called, every, "every described operation was called");
}

#[test]
fn a_stale_if_match_loses_nothing_and_merges_as_the_editor_does() {
    let wiki = wiki("");
    let alice = token(wiki.data_dir(), "alice", TokenScope::Write, None);
    let bob = token(wiki.data_dir(), "bob", TokenScope::Write, None);
    let page = "/+api/v1/pages/Plan";
    let base = "one\ntwo\nthree\nfour\nfive\n";
    assert_eq!(
        put(&wiki, page, Some(&alice), None, &save(base)).status,
        StatusCode::CREATED
    );
    let theirs = "one\ntwo\nthree\nfour\nFIVE\n";
    assert_eq!(
        put(&wiki, page, Some(&bob), Some(1), &save(theirs)).status,
        StatusCode::OK
    );

    // Another line: a clean merge, offered, not saved.
    let mine = "ONE\ntwo\nthree\nfour\nfive\n";
    let stale = put(&wiki, page, Some(&alice), Some(1), &save(mine));
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert_eq!(
        stale.header("content-type"),
        Some("application/problem+json")
    );
    let conflict = json(&stale);
    assert_eq!(conflict["status"], 409);
    assert_eq!(conflict["current_revision"], 2);
    assert_eq!(conflict["current_text"], theirs);
    assert_eq!(conflict["your_text"], mine);
    assert_eq!(conflict["merge"]["clean"], true);
    let merged = "ONE\ntwo\nthree\nfour\nFIVE\n";
    assert_eq!(conflict["merge"]["text"], merged);
    assert_eq!(
        json(&get(&wiki, page, None))["text"],
        theirs,
        "nothing saved"
    );
    // The client saves the merge on the current revision.
    let saved = put(&wiki, page, Some(&alice), Some(2), &save(merged));
    assert_eq!(saved.status, StatusCode::OK);
    assert_eq!(json(&saved)["revision"], 3);

    // The same line: the conflict, with the editor's markers, and every text.
    let mine = "One, said alice\ntwo\nthree\nfour\nFIVE\n";
    let stale = put(&wiki, page, Some(&alice), Some(2), &save(mine));
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let conflict = json(&stale);
    assert_eq!(conflict["merge"]["clean"], false);
    assert_eq!(conflict["merge"]["conflicts"], 1);
    let text = conflict["merge"]["text"].as_str().unwrap();
    assert!(text.contains("<<<<<<< your text\n"), "{text}");
    assert!(text.contains(">>>>>>> revision 3 by alice"), "{text}");
    assert!(text.contains("One, said alice\n=======\nONE\n"), "{text}");
    assert_eq!(conflict["your_text"], mine);
    assert_eq!(
        json(&get(&wiki, page, None))["revision"],
        3,
        "nothing saved"
    );
}

#[test]
fn tokens_that_are_missing_bad_expired_revoked_or_read_only_are_refused() {
    let wiki = wiki("");
    let data = wiki.data_dir();
    let write = token(data, "alice", TokenScope::Write, None);
    let read = token(data, "alice", TokenScope::Read, None);
    let expired = token(data, "alice", TokenScope::Write, Some(1));
    let page = "/+api/v1/pages/Home";
    assert_eq!(
        put(&wiki, page, Some(&write), None, &save("hi")).status,
        StatusCode::CREATED
    );

    let unauthorized = |response: TestResponse, error: Option<&str>| {
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            response.text()
        );
        let challenge = response.header("www-authenticate").unwrap().to_owned();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        if let Some(error) = error {
            assert!(
                challenge.contains(&format!("error=\"{error}\"")),
                "{challenge}"
            );
        }
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
    };
    // No token: reads are the anonymous reader's, writes are refused.
    assert_eq!(get(&wiki, page, None).status, StatusCode::OK);
    unauthorized(put(&wiki, page, None, Some(1), &save("x")), None);
    // A bad one, an expired one, another scheme: refused for reads and writes alike.
    for bad in ["quire_guessed", "nothing-like-one", expired.as_str()] {
        unauthorized(get(&wiki, page, Some(bad)), Some("invalid_token"));
        unauthorized(
            put(&wiki, page, Some(bad), Some(1), &save("x")),
            Some("invalid_token"),
        );
    }
    let basic = TestRequest::get(page).with_header("authorization", "Basic YTpi");
    unauthorized(wiki.send(basic), Some("invalid_request"));
    // A read-only token reads, and may not write.
    assert_eq!(get(&wiki, page, Some(&read)).status, StatusCode::OK);
    let refused = put(&wiki, page, Some(&read), Some(1), &save("x"));
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(json(&get(&wiki, page, None))["revision"], 1);

    // A session with its CSRF token is no way to write through the API.
    let browser = Browser::new(&wiki);
    assert_eq!(
        browser.log_in("alice", PASSWORD).status,
        StatusCode::SEE_OTHER
    );
    let csrf = browser.csrf_token();
    let mut request = TestRequest::get(page)
        .with_header("content-type", "application/json")
        .with_header("x-csrf-token", &csrf);
    request.method = Method::PUT;
    request.body = save("by session").to_string().into_bytes();
    unauthorized(browser.send(request), None);
    // A disabled account's token, and a revoked one, stop working.
    let storage = DataDir::locate(Some(data)).open_storage().unwrap();
    storage.set_disabled("alice", true).unwrap();
    unauthorized(get(&wiki, page, Some(&write)), Some("invalid_token"));
    storage.set_disabled("alice", false).unwrap();
    assert_eq!(get(&wiki, page, Some(&write)).status, StatusCode::OK);
    let id = storage.api_tokens("alice").unwrap().last().unwrap().id;
    assert!(storage.revoke_api_token("alice", id).unwrap());
    assert_eq!(storage.api_tokens("alice").unwrap().len(), 2);
    let listed = storage.api_tokens("alice").unwrap();
    assert!(listed.iter().all(|token| token.id != id));
    // The first token made is the one revoked.
    unauthorized(get(&wiki, page, Some(&write)), Some("invalid_token"));
    // Its last use was written.
    assert!(listed.iter().any(|token| token.last_used.is_some()));
}

/// Tokens' requests are counted in memory by a long-running process and in the database by CGI
/// (`wiki::api::RequestLimits`); bad tokens in the database everywhere.
fn limits_hold(gw: &dyn Gateway, data: &Path) {
    let one = token(data, "alice", TokenScope::Read, None);
    let other = token(data, "alice", TokenScope::Read, None);
    let target = "/+api/v1/recent";
    for _ in 0..3 {
        assert_eq!(get(gw, target, Some(&one)).status, StatusCode::OK);
    }
    let limited = get(gw, target, Some(&one));
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(get(gw, target, Some(&other)).status, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            get(gw, target, Some("quire_x")).status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        get(gw, target, Some("quire_x")).status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

const LIMITS: &str = "[spam]\napi_requests_per_minute = 3\napi_token_failures_per_hour = 2\n";

#[test]
fn requests_are_limited_per_token_and_bad_tokens_per_address() {
    let wiki = wiki(LIMITS);
    limits_hold(&wiki, wiki.data_dir());
}

#[test]
fn requests_are_limited_per_token_and_bad_tokens_per_address_under_cgi() {
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), LIMITS).unwrap();
    let cgi = crate::drivers::Cgi::start_in(data);
    create_accounts(cgi.data_dir(), &[("alice", Role::User)], PASSWORD);
    limits_hold(&cgi, cgi.data_dir());
}

#[test]
fn a_token_is_made_shown_once_and_revoked_in_the_preferences() {
    let wiki = wiki("");
    let browser = Browser::new(&wiki);
    assert_eq!(
        browser.log_in("bob", PASSWORD).status,
        StatusCode::SEE_OTHER
    );
    browser.get("/+prefs");
    let made = browser.post_form(
        "/+prefs",
        &[
            ("action", "token_create"),
            ("label", "nightly export"),
            ("scope", "write"),
            ("expires_days", "30"),
        ],
    );
    assert_eq!(made.status, StatusCode::OK, "{}", made.text());
    let html = made.text();
    let start = html.find("quire_").unwrap();
    let secret: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(html.contains("nightly export"));
    // Shown once: the next view lists it without the secret.
    let listed = browser.get("/+prefs").text();
    assert!(listed.contains("nightly export") && !listed.contains(&secret));
    let page = "/+api/v1/pages/FromPrefs";
    let created = put(&wiki, page, Some(&secret), None, &save("made with a token"));
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(json(&get(&wiki, page, None))["author"], "bob");
    let id = DataDir::locate(Some(wiki.data_dir()))
        .open_storage()
        .unwrap()
        .api_tokens("bob")
        .unwrap()[0]
        .id;
    browser.get("/+prefs");
    let revoked = browser.post_form(
        "/+prefs",
        &[("action", "token_revoke"), ("token", &id.to_string())],
    );
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert_eq!(
        get(&wiki, page, Some(&secret)).status,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn api_responses_are_private_and_vary_by_authorization() {
    let wiki = wiki("");
    let read = token(wiki.data_dir(), "alice", TokenScope::Read, None);
    for response in [
        get(&wiki, "/+api/v1/recent", Some(&read)),
        get(&wiki, "/+api/v1/pages/Nope", None),
        get(&wiki, "/+api/v1/openapi.json", None),
    ] {
        assert!(
            crate::scenarios::is_private(&response),
            "{:?}",
            response.headers
        );
        let vary = response.headers.get_all("vary").iter();
        assert!(vary
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains("Authorization")));
    }
}

/// The fenced `sh` block of docs/api.md, run with curl against `quire serve`: the documentation's
/// example works.
#[test]
fn the_documented_curl_script_runs_against_quire_serve() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let start = docs.find("```sh\n").expect("docs/api.md has a ```sh block") + "```sh\n".len();
    let end = start + docs[start..].find("```").unwrap();
    let script = &docs[start..end];
    let data = TempDir::new().unwrap();
    create_accounts_after_init(data.path());
    let write = token(data.path(), "alice", TokenScope::Write, None);
    let serve = Serve::start(data.path(), &[]);
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("QUIRE_URL", format!("http://{}{}", serve.addr, serve.mount))
        .env("QUIRE_TOKEN", &write)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the script failed:\n{stdout}\n{stderr}"
    );
    let page = serve.page("/Scratch/FromCurl");
    assert!(page.contains("Written by curl"), "{page}");
}

/// A data directory with a wiki and the account alice.
fn create_accounts_after_init(data: &Path) {
    crate::cli::init(data);
    create_accounts(data, &[("alice", Role::User)], PASSWORD);
}

#[test]
fn quire_user_token_prints_a_token_once_with_its_scope_and_expiry() {
    let data = TempDir::new().unwrap();
    create_accounts_after_init(data.path());
    let dir = data.path().to_str().unwrap();
    let made = crate::cli::quire(
        &[
            "--data",
            dir,
            "user",
            "token",
            "ALICE",
            "--read-only",
            "--expires",
            "3",
        ],
        &[("QUIRE_LOG", "warn")],
    );
    let stderr = crate::cli::text(&made.stderr);
    assert!(made.status.success(), "{stderr}");
    let secret = crate::cli::text(&made.stdout).trim().to_owned();
    assert!(
        secret.starts_with("quire_") && !secret.contains('\n'),
        "{secret}"
    );
    assert!(stderr.contains("read as alice, for 3 day(s)"), "{stderr}");
    let storage = DataDir::locate(Some(data.path())).open_storage().unwrap();
    let listed = storage.api_tokens("alice").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].scope, TokenScope::Read);
    let expires = listed[0].expires.unwrap() - listed[0].created;
    assert!(
        (3 * 86_400 - 5..=3 * 86_400 + 5).contains(&expires),
        "{expires}"
    );
    // No such account: an error that says how to find one.
    let missing = crate::cli::quire(&["--data", dir, "user", "token", "nobody"], &[]);
    assert!(!missing.status.success());
    assert!(crate::cli::text(&missing.stderr).contains("quire user list"));
    drop(storage);
    let wiki = InProcess::start_in(data);
    assert_eq!(
        get(&wiki, "/+api/v1/recent", Some(&secret)).status,
        StatusCode::OK
    );
    let refused = put(&wiki, "/+api/v1/pages/X", Some(&secret), None, &save("x"));
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
