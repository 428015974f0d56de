//! Architecture invariants from ARCHITECTURE.md, kept true by tests
//! (rust-analyzer's `tidy` tests are the model).

use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    found
}

/// The workspace crates a crate's manifest depends on.
fn internal_dependencies(krate: &str) -> Vec<String> {
    let manifest = fs::read_to_string(repo().join(krate).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let mut deps = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(table) = manifest.get(section).and_then(|value| value.as_table()) {
            // A crate may list itself as a dev-dependency, for its test-only features.
            for name in table.keys().filter(|name| *name != krate) {
                if [
                    "gateway", "storage", "search", "markup", "media", "themes", "app", "quire",
                ]
                .contains(&name.as_str())
                {
                    deps.push(name.clone());
                }
            }
        }
    }
    deps
}

#[test]
fn library_crates_do_not_depend_on_each_other() {
    for krate in ["gateway", "storage", "search", "markup", "media", "themes"] {
        assert_eq!(
            internal_dependencies(krate),
            Vec::<String>::new(),
            "{krate} depends on a sibling"
        );
    }
}

#[test]
fn the_gateway_names_no_wiki_concept() {
    // Identifiers, not prose: "/wiki" as an example mount prefix is fine,
    // a page, a revision or a sibling crate is not.
    let forbidden = [
        "PageName",
        "page_name",
        "Revision",
        "revision",
        "markdown",
        "Markdown",
        "storage::",
        "markup::",
        "themes::",
        "quire::",
    ];
    for (path, text) in sources(&repo().join("gateway/src")) {
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word:?}", path.display());
        }
    }
}

#[test]
fn wiki_code_names_no_gateway() {
    let forbidden = [
        "gateway::cgi",
        "gateway::fastcgi",
        "gateway::http",
        "gateway::listener",
        "gateway::environ",
        "actix",
        "GATEWAY_INTERFACE",
        "SCRIPT_NAME",
        "FastCgi",
        "fastcgi",
    ];
    for (path, text) in sources(&repo().join("app/src/wiki")) {
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word:?}", path.display());
        }
    }
}

#[test]
fn architecture_md_names_every_crate() {
    let doc = fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    for krate in [
        "gateway/", "storage/", "search/", "markup/", "media/", "themes/", "app/", "deploy/",
        "e2e/",
    ] {
        assert!(
            doc.contains(&format!("`{krate}`")),
            "ARCHITECTURE.md does not describe {krate}"
        );
    }
}

/// The code of a file before its `#[cfg(test)]` module, where tests may spell things out.
fn non_test_code(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn route_questions_have_no_catch_all_arm() {
    // A new route must answer every question (methods, rights, login, URL): a `_ =>` arm would let
    // it skip one silently, above all the ACL check. The answers live in routes.rs; dispatch,
    // access and the login gate only ask.
    for file in [
        "mod.rs",
        "plumbing/routes.rs",
        "plumbing/access.rs",
        "plumbing/viewer.rs",
        "plumbing/urls.rs",
    ] {
        let text = fs::read_to_string(repo().join("app/src/wiki").join(file)).unwrap();
        assert!(
            !non_test_code(&text).contains("_ =>"),
            "app/src/wiki/{file} has a `_ =>` arm"
        );
    }
}

#[test]
fn only_urls_and_routes_build_paths() {
    // Every URL the wiki writes comes from `Urls` (the mount prefix) and `Route::path` (the verb
    // and its argument), so the wiki works under any mount.
    let hand_built = ["\"/+", "/+{", "format!(\"/", "format!(\"{}/", "}?"];
    for (path, text) in sources(&repo().join("app/src/wiki")) {
        let file = path.file_name().unwrap().to_string_lossy();
        // The route table, and its JSON API's part (`Route::path` hands API routes to it).
        if file == "urls.rs" || file == "routes.rs" || file == "api_routes.rs" {
            continue;
        }
        let code: Vec<&str> = non_test_code(&text)
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect();
        for pattern in hand_built {
            assert!(
                !code.iter().any(|line| line.contains(pattern)),
                "{} builds a URL by hand ({pattern:?}); use wiki::urls::Urls",
                path.display()
            );
        }
    }
}

/// The registry sources cargo unpacked, where each locked package's manifest is.
fn registry_sources() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap();
    fs::read_dir(home.join("registry").join("src"))
        .map(|dirs| dirs.map(|dir| dir.unwrap().path()).collect())
        .unwrap_or_default()
}

/// `major.minor` of a `rust-version`.
fn minor_version(version: &str) -> (u32, u32) {
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

/// The `rust-version` the workspace states (and the README repeats) is the newest that any locked
/// dependency built here asks for: an older one would promise a toolchain that cannot build the lock.
/// Packages cargo never unpacked (another platform's) are not built, so they do not count.
#[test]
fn rust_version_is_what_the_lock_needs() {
    let manifest: toml::Table =
        toml::from_str(&fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let stated = manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap()
        .to_owned();
    let lock: toml::Table =
        toml::from_str(&fs::read_to_string(repo().join("Cargo.lock")).unwrap()).unwrap();
    let sources = registry_sources();
    let mut needed = ((0, 0), String::from("nothing"));
    let mut found = 0;
    for package in lock["package"].as_array().unwrap() {
        let (name, version) = (
            package["name"].as_str().unwrap(),
            package["version"].as_str().unwrap(),
        );
        let Some(text) = sources.iter().find_map(|source| {
            fs::read_to_string(source.join(format!("{name}-{version}")).join("Cargo.toml")).ok()
        }) else {
            continue;
        };
        found += 1;
        let manifest: toml::Table = toml::from_str(&text).unwrap();
        if let Some(wants) = manifest
            .get("package")
            .and_then(|package| package.get("rust-version"))
            .and_then(|version| version.as_str())
        {
            if minor_version(wants) > needed.0 {
                needed = (minor_version(wants), format!("{name} {version}"));
            }
        }
    }
    assert!(found > 50, "only {found} locked packages found unpacked");
    assert_eq!(
        minor_version(&stated),
        needed.0,
        "rust-version is {stated}, but {} needs {}.{}",
        needed.1,
        needed.0 .0,
        needed.0 .1
    );
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {stated}")),
        "the README names the minimum, Rust {stated}"
    );
}
