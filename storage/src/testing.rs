//! What other crates' tests need of storage to run on PostgreSQL (the `testing` feature).

use crate::db::Target;
use crate::StorageError;

/// A URL for a database of its own on the PostgreSQL server `url` names: a new, empty schema
/// there, which every connection made from the returned URL uses (its `search_path`). The app's
/// tests give it to a wiki as its `database` setting, so wikis of many tests share one server
/// without meeting.
pub fn postgres_url_in_new_schema(url: &str) -> Result<String, StorageError> {
    let target = Target::parse(url).map_err(|reason| StorageError::BadDatabaseUrl { reason })?;
    let schema = target
        .new_schema()
        .map_err(|err| StorageError::database("making a test schema", err))?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{url}{separator}options=-c%20search_path%3D{schema}"
    ))
}
