//! What the fuzz targets in `fuzz/` run for the wiki's own parsers (page names in URLs, MoinMoin
//! ACLs), so that the stable test suite can run the very same code over the committed seeds
//! (`app/tests/it/fuzz_seeds.rs`) without nightly or libFuzzer.
//!
//! Each function takes the fuzzer's bytes, drives a parser through its public API, and panics only
//! when a result breaks a property the module docs promise; a refusal is never a failure. Each
//! returns whether the input was accepted, which the seed replay checks. Hidden from the docs: this
//! is test support, not API.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

use crate::acl::{Acl, Groups, Policy, Principal, Right, DEFAULT_ACL};
use crate::wiki::plumbing::page_name::{normalise, PageName, MAX_LEN};
use crate::wiki::plumbing::routes::Route;

/// A path below the mount, as raw bytes (the web server has percent-decoded it), parsed as the
/// wiki's router parses every request, and the same bytes as a page name typed into a form.
/// Properties: a route's path reads back as the route ([`Route::path`] says so); a page name is
/// NFC, at most [`MAX_LEN`] bytes, parses to itself, and so does each of its parents.
pub fn page_names(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(route) = Route::parse(data) {
        let path = route.path();
        let decoded: Vec<u8> = percent_decode_str(&path).collect();
        match Route::parse(&decoded) {
            Ok(again) => assert_eq!(again, route, "{path:?} reads back as its route"),
            Err(err) => panic!("{route:?} has the path {path:?}, which is refused: {err:?}"),
        }
        accepted = true;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return accepted;
    };
    let Ok(name) = PageName::parse(text) else {
        return accepted;
    };
    assert!(name.as_str().len() <= MAX_LEN, "{name:?} is too long");
    assert_eq!(normalise(name.as_str()), name.as_str(), "{name:?} is NFC");
    assert_eq!(PageName::parse(name.as_str()).as_ref(), Ok(&name));
    for parent in name.parents() {
        assert_eq!(
            PageName::parse(parent.as_str()).as_ref(),
            Ok(&parent),
            "{parent:?}, a parent of {name:?}, is a page name"
        );
    }
    true
}

/// A page's ACL line, then `[groups]` as lines of `Group=member,member`. The ACL is parsed and
/// written out, and every right of an anonymous visitor, an admin, and each name the line or the
/// groups mention is decided under quire's default policy. Properties: the written form parses to
/// the same ACL; an admin may do anything; `-All:right` in front denies that right to everybody
/// who is not an admin.
pub fn acl(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let line = lines.next().unwrap_or_default();
    let mut members = BTreeMap::new();
    for definition in lines {
        let (group, list) = definition.split_once('=').unwrap_or((definition, ""));
        let list: Vec<String> = list.split(',').map(str::to_owned).collect();
        members.insert(group.to_owned(), list);
    }
    let groups = Groups::new(members.clone());
    let policy = Policy::new("", DEFAULT_ACL, "", groups);

    let acl = Acl::parse(line);
    let written = acl.to_string();
    assert_eq!(
        Acl::parse(&written),
        acl,
        "{line:?} is written {written:?}, which reads as another ACL"
    );

    let mut names: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '+' | '-'))
        .filter(|name| !name.is_empty())
        .collect();
    names.extend(members.keys().map(String::as_str));
    names.extend(members.values().flatten().map(String::as_str));
    let mut principals = vec![
        Principal::ANONYMOUS,
        Principal {
            name: Some("root"),
            is_admin: true,
        },
    ];
    principals.extend(names.iter().take(16).map(|&name| Principal {
        name: Some(name),
        is_admin: false,
    }));
    for right in Right::ALL {
        let denied = Acl::parse(&format!("-All:{right} {line}"));
        for who in &principals {
            let may = policy.may(*who, Some(&acl), right);
            let _ = policy.may(*who, None, right);
            if who.is_admin {
                assert!(may, "an admin may {right}");
                continue;
            }
            assert!(
                !policy.may(*who, Some(&denied), right),
                "-All:{right} denies {who:?}"
            );
        }
    }
    let _ = policy.guarded_groups(policy.groups(), [&acl]);
    !acl.is_empty()
}
