//! The members of group pages (MoinMoin's `page_group_regex` pages), kept so that every ACL check can
//! know the groups without reading a page text per request.
//!
//! Storage neither parses pages nor knows which names make group pages: the app scans each revision
//! (its page name against its pattern, its members with `markup::group_members`) and hands the
//! results over ([`Storage::record_group_scan`]), as it does for ACL lines (`crate::page_acls`). This
//! is derived data caught up from the revision log: `group_scan.upto` is the highest revision id
//! scanned, and `revision_groups` holds a row for each revision up to there that belonged to a group
//! page when scanned. The pattern the scan used is kept beside the mark, and a scan under another
//! pattern starts again from nothing ([`Storage::group_scan_mark`]), so changing the setting
//! changes which pages are groups.
//!
//! A page defines a group through its *current* revision only, and only while it is not deleted: a
//! deleted page, or one renamed to a name that is no group's, defines none. A revision's page is
//! named as it is called when scanned, which may be a later name than the revision was saved under;
//! that does not matter, because every rename makes a new current revision, which is scanned under
//! the new name.

use crate::db::{Engine, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::page_acls::{join_in_order, sql_id, RAISE_MARK};
use crate::revision::to_u64;
use crate::Storage;

/// The members of every live group page's current revision. CROSS JOIN: from the few group pages,
/// not from every page (see `page_acls`).
fn group_members_sql(engine: Engine) -> String {
    let join = join_in_order(engine);
    format!(
        "SELECT p.name, g.members FROM revision_groups g
         {join} revisions r ON r.id = g.revision_id
         {join} pages p ON p.id = r.page_id AND p.current_rev = r.rev AND p.deleted = 0"
    )
}

/// The live pages whose current revision the scan found to be a group page's, and those it has
/// not scanned yet (the app reads those itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageGroups {
    /// Page name and its members, for every scanned group page.
    pub groups: Vec<(String, Vec<String>)>,
    /// Page name and current revision number of live pages saved after the scan.
    pub unscanned: Vec<(String, u64)>,
}

impl Storage {
    /// The highest revision id scanned for group pages under `pattern`: catch up with
    /// [`revisions_after`](Self::revisions_after) from here. A scan made under another pattern is
    /// dropped first, so this is 0 after the setting changed.
    pub fn group_scan_mark(&self, pattern: &str) -> Result<u64, StorageError> {
        const DOING: &str = "reading the group page scan mark";
        let mut pooled = self.pool.get()?;
        let (upto, scanned) = scan_mark(&mut *pooled)?;
        if scanned == pattern {
            return to_u64("revision id", "", upto);
        }
        let mut tx = pooled.transaction(TxKind::Write).map_err(doing(DOING))?;
        let (upto, scanned) = scan_mark(&mut tx)?;
        if scanned == pattern {
            return to_u64("revision id", "", upto);
        }
        tx.execute("DELETE FROM revision_groups", &[])
            .map_err(doing(DOING))?;
        tx.execute(
            "UPDATE group_scan SET upto = 0, pattern = ?1 WHERE id = 1",
            &[&pattern],
        )
        .map_err(doing(DOING))?;
        tx.commit().map_err(doing(DOING))?;
        Ok(0)
    }

    /// Records a scan under `pattern` of every revision up to id `upto`: `groups` are the (revision
    /// id, members) of those among them that belong to a group page. The mark only ever grows; a
    /// scan under a pattern that is no longer the stored one (another process, another setting) is
    /// dropped. Never waits for another process's lock: [`StorageError::Busy`] at once.
    pub fn record_group_scan(
        &self,
        pattern: &str,
        upto: u64,
        groups: &[(u64, &[String])],
    ) -> Result<(), StorageError> {
        const DOING: &str = "recording group pages";
        let mut pooled = self.pool.get_without_waiting()?;
        let mut tx = pooled.transaction(TxKind::Write).map_err(doing(DOING))?;
        let current: Option<String> = tx
            .query_opt(
                "SELECT pattern FROM group_scan WHERE id = 1 AND pattern = ?1",
                &[&pattern],
                |row| row.get(0),
            )
            .map_err(doing(DOING))?;
        if current.is_none() {
            return Ok(());
        }
        for (id, members) in groups {
            tx.execute(
                "INSERT INTO revision_groups (revision_id, members) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                &[&sql_id(*id), &members.join("\n")],
            )
            .map_err(doing(DOING))?;
        }
        tx.execute(
            &format!("UPDATE group_scan SET upto = {RAISE_MARK} WHERE id = 1"),
            &[&sql_id(upto)],
        )
        .map_err(doing(DOING))?;
        tx.commit().map_err(doing(DOING))
    }

    /// Every live group page's members as far as the scan up to `mark` knows, and the live pages it
    /// does not know yet. Costs in proportion to the group pages' revisions, not to the wiki.
    pub fn page_groups(&self, mark: u64) -> Result<PageGroups, StorageError> {
        const DOING: &str = "reading group pages";
        let mut conn = self.pool.get()?;
        let sql = group_members_sql(conn.engine());
        let groups = conn
            .query_map(&sql, &[], |row| {
                let members: String = row.get(1)?;
                let members = members
                    .split('\n')
                    .filter(|member| !member.is_empty())
                    .map(str::to_owned)
                    .collect();
                Ok((row.get(0)?, members))
            })
            .map_err(doing(DOING))?;
        let unscanned: Vec<(String, i64)> = conn
            .query_map(
                "SELECT p.name, r.rev FROM revisions r
                 JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev AND p.deleted = 0
                 WHERE r.id > ?1",
                &[&sql_id(mark)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing(DOING))?;
        let mut found = PageGroups {
            groups,
            unscanned: Vec::with_capacity(unscanned.len()),
        };
        for (name, rev) in unscanned {
            let rev = to_u64("revision", &name, rev)?;
            found.unscanned.push((name, rev));
        }
        Ok(found)
    }
}

/// The scan's mark and the pattern it was made under.
fn scan_mark(conn: &mut impl Sql) -> Result<(i64, String), StorageError> {
    conn.query_one(
        "SELECT upto, pattern FROM group_scan WHERE id = 1",
        &[],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .map_err(doing("reading the group page scan mark"))
}

#[cfg(test)]
mod tests {
    use crate::db::{Engine, Sql};
    use crate::page_acls::tests::{each_storage, full_scan_steps, put, save};
    use crate::Storage;

    /// SQLite only: it counts SQLite's full-scan steps.
    #[test]
    fn reading_the_members_costs_the_group_pages_not_every_page() {
        let storage = Storage::open_in_memory().unwrap();
        for n in 0..300 {
            save(&storage, &format!("Page{n}"), "open to all");
        }
        save(&storage, "EditorGroup", " * Ann\n");
        storage
            .record_group_scan("", 301, &[(301, &members(&["Ann"]))])
            .unwrap();
        let sql = super::group_members_sql(Engine::Sqlite);
        let steps = full_scan_steps(&storage, &sql, &[]);
        assert!(steps < 10, "{steps}");
    }

    fn members(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    /// A revision of `page` of `kind` (see [`put`]: members are the app's to read, so the text
    /// does not matter here).
    fn revise(storage: &Storage, page: &str, kind: &str) {
        put(storage, page, "t", kind, 1);
    }

    #[test]
    fn groups_follow_the_current_revision_of_live_pages() {
        for storage in each_storage() {
            let engine = storage.engine();
            revise(&storage, "EditorGroup", "edit"); // "- alice"
            revise(&storage, "Other", "edit");
            assert_eq!(storage.group_scan_mark(".*Group").unwrap(), 0);
            let found = storage.page_groups(0).unwrap();
            assert!(found.groups.is_empty(), "{engine}");
            assert_eq!(found.unscanned.len(), 2, "{engine}");

            let alice = members(&["alice"]);
            storage
                .record_group_scan(".*Group", 2, &[(1, &alice)])
                .unwrap();
            assert_eq!(storage.group_scan_mark(".*Group").unwrap(), 2);
            let found = storage.page_groups(2).unwrap();
            assert_eq!(found.groups, [("EditorGroup".to_owned(), alice.clone())]);
            assert!(found.unscanned.is_empty(), "{engine}");

            // A newer revision: the old members no longer count, the page is unscanned.
            revise(&storage, "EditorGroup", "edit"); // "- alice\n- bob"
            let found = storage.page_groups(2).unwrap();
            assert!(found.groups.is_empty(), "{engine}");
            assert_eq!(found.unscanned, [("EditorGroup".to_owned(), 2)]);
            let both = members(&["alice", "bob"]);
            storage
                .record_group_scan(".*Group", 3, &[(3, &both)])
                .unwrap();
            assert_eq!(
                storage.page_groups(3).unwrap().groups,
                [("EditorGroup".to_owned(), both)],
                "{engine}"
            );

            // Deleted, or renamed to a name the scan finds no group in: no group.
            revise(&storage, "EditorGroup", "delete");
            storage.record_group_scan(".*Group", 4, &[]).unwrap();
            assert_eq!(storage.page_groups(4).unwrap(), Default::default());
            revise(&storage, "EditorGroup", "undelete");
            storage
                .record_group_scan(".*Group", 5, &[(5, &alice)])
                .unwrap();
            assert_eq!(storage.page_groups(5).unwrap().groups.len(), 1, "{engine}");
            storage
                .pool
                .get()
                .unwrap()
                .execute(
                    "UPDATE pages SET name = 'Editors' WHERE name = 'EditorGroup'",
                    &[],
                )
                .unwrap();
            revise(&storage, "Editors", "rename");
            storage.record_group_scan(".*Group", 6, &[]).unwrap();
            assert_eq!(storage.page_groups(6).unwrap(), Default::default());
        }
    }

    #[test]
    fn another_pattern_starts_the_scan_again_and_a_stale_scan_is_dropped() {
        for storage in each_storage() {
            let engine = storage.engine();
            revise(&storage, "EditorGroup", "edit");
            let alice = members(&["alice"]);
            assert_eq!(storage.group_scan_mark(".*Group").unwrap(), 0);
            storage
                .record_group_scan(".*Group", 1, &[(1, &alice)])
                .unwrap();
            // Recorded twice (two scanners at once): no error, nothing doubled.
            storage
                .record_group_scan(".*Group", 1, &[(1, &alice)])
                .unwrap();
            assert_eq!(storage.group_scan_mark(".*Group").unwrap(), 1);
            assert_eq!(storage.page_groups(1).unwrap().groups.len(), 1, "{engine}");

            assert_eq!(storage.group_scan_mark("Team.*").unwrap(), 0);
            assert!(storage.page_groups(0).unwrap().groups.is_empty());
            // A process still scanning under the old pattern records nothing.
            storage
                .record_group_scan(".*Group", 1, &[(1, &alice)])
                .unwrap();
            assert_eq!(storage.group_scan_mark("Team.*").unwrap(), 0, "{engine}");
            assert!(
                storage.page_groups(1).unwrap().groups.is_empty(),
                "{engine}"
            );
        }
    }
}
