//! Values crossing the seam: what a statement's parameters are and what a row's columns become,
//! the same on both engines.
//!
//! The schema keeps to four kinds of column on both engines: 64-bit integers (`INTEGER` in
//! SQLite, `BIGINT` in PostgreSQL, also for flags), text, bytes (`BLOB`, `BYTEA`) and the rare
//! floating point number. A parameter is turned into the kind its statement expects on each
//! engine, so storage's code passes Rust values and never names an engine's types.

use super::DbError;

/// A value borrowed from a parameter or a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    /// The kind's name, for conversion errors.
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real number",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "bytes",
        }
    }
}

/// A statement's parameter.
pub(crate) trait Param {
    /// The value, or an error for one no column can hold (a `u64` past `i64::MAX`).
    fn value(&self) -> Result<ValueRef<'_>, DbError>;
}

impl Param for i64 {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Integer(*self))
    }
}

impl Param for i32 {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Integer(i64::from(*self)))
    }
}

impl Param for u32 {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Integer(i64::from(*self)))
    }
}

impl Param for u64 {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        i64::try_from(*self)
            .map(ValueRef::Integer)
            .map_err(|_| DbError::conversion(format!("{self} is too large for a column")))
    }
}

impl Param for usize {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        i64::try_from(*self)
            .map(ValueRef::Integer)
            .map_err(|_| DbError::conversion(format!("{self} is too large for a column")))
    }
}

impl Param for bool {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Integer(i64::from(*self)))
    }
}

impl Param for f64 {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Real(*self))
    }
}

impl Param for str {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Text(self))
    }
}

impl Param for String {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Text(self))
    }
}

impl Param for [u8] {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Blob(self))
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(ValueRef::Blob(self))
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        (**self).value()
    }
}

impl<T: Param> Param for Option<T> {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        match self {
            Some(value) => value.value(),
            None => Ok(ValueRef::Null),
        }
    }
}

/// A Rust value a column can be read as.
pub(crate) trait FromValue: Sized {
    /// Converts, or says what the column held instead.
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError>;
}

/// The error of a column that holds another kind of value.
fn mismatch<T>(wanted: &str, found: ValueRef<'_>) -> Result<T, DbError> {
    Err(DbError::conversion(format!(
        "expected {wanted}, found {}",
        found.kind()
    )))
}

impl FromValue for i64 {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Integer(n) => Ok(n),
            other => mismatch("an integer", other),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        let n = i64::from_value(value)?;
        u64::try_from(n).map_err(|_| DbError::conversion(format!("expected {n} to be >= 0")))
    }
}

impl FromValue for u32 {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        let n = i64::from_value(value)?;
        u32::try_from(n).map_err(|_| DbError::conversion(format!("{n} does not fit in 32 bits")))
    }
}

impl FromValue for bool {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        i64::from_value(value).map(|n| n != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Real(x) => Ok(x),
            // SQLite stores a whole REAL as an integer when it can.
            ValueRef::Integer(n) => Ok(n as f64),
            other => mismatch("a real number", other),
        }
    }
}

impl FromValue for String {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Text(text) => Ok(text.to_owned()),
            other => mismatch("text", other),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
            // SQLite hands back text put in a BLOB column as text.
            ValueRef::Text(text) => Ok(text.as_bytes().to_vec()),
            other => mismatch("bytes", other),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Null => Ok(None),
            value => T::from_value(value).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_that_no_column_holds_are_refused_not_wrapped() {
        assert!(u64::MAX.value().is_err());
        assert_eq!(
            (i64::MAX as u64).value().ok(),
            Some(ValueRef::Integer(i64::MAX))
        );
        assert!(u64::from_value(ValueRef::Integer(-1)).is_err());
        assert!(u32::from_value(ValueRef::Integer(1 << 40)).is_err());
    }

    #[test]
    fn null_reads_as_none_and_kinds_do_not_mix() {
        assert_eq!(Option::<i64>::from_value(ValueRef::Null).ok(), Some(None));
        assert!(i64::from_value(ValueRef::Null).is_err());
        assert!(String::from_value(ValueRef::Integer(3)).is_err());
        assert!(i64::from_value(ValueRef::Text("3")).is_err());
        assert_eq!(Option::<&str>::None.value().ok(), Some(ValueRef::Null));
    }
}
