//! The rows of a listing (`/+index`, `/+orphans`, `/+wanted`, `/+backlinks/{Page}`) as template
//! values made directly, not through serde.
//!
//! A context handed to `themes` becomes template values through `Value::from_serialize`, which
//! copies every string once more and turns each struct into a map of its own: for a listing of 200
//! rows that, with the `String`s the struct held first, was most of the cost of drawing a row
//! (issue 16: a page of 200 names should cost about what a page of 2 does). A [`Row`] holds its
//! values as template values from the start, made from text written once into a reused buffer, and
//! a listing hands its rows over as one sequence, which `from_serialize` passes through untouched.
//!
//! To a template a row is what the struct was: a map with the same keys (an unknown key is
//! undefined, so strict templates still fail on it), iterated in the same order.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

/// A row: fixed keys and a value for each, as a template sees a struct with those fields.
#[derive(Debug)]
pub(crate) struct Row<const N: usize> {
    keys: &'static [&'static str; N],
    values: [Value; N],
}

impl<const N: usize> Row<N> {
    /// The row with `values[i]` under `keys[i]`, as a template value.
    pub(crate) fn value(keys: &'static [&'static str; N], values: [Value; N]) -> Value {
        Value::from_object(Row { keys, values })
    }
}

impl<const N: usize> Object for Row<N> {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        // A template reads each key of a row a few times, hundreds of times a page. Keys of the
        // same length mostly differ in their first byte, so comparing it first leaves the call to
        // compare whole keys (memcmp, a tenth of drawing /+recent's rows) for the key sought.
        let first = key.as_bytes().first();
        let at = self.keys.iter().position(|known| {
            known.len() == key.len() && known.as_bytes().first() == first && *known == key
        })?;
        Some(self.values[at].clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_like_the_struct_it_stands_for() {
        let row = Row::value(
            &["name", "url"],
            [Value::from("Team"), Value::from("/Team")],
        );
        assert_eq!(row.get_attr("url").unwrap().as_str(), Some("/Team"));
        assert!(row.get_attr("label").unwrap().is_undefined());
        let keys: Vec<String> = row.try_iter().unwrap().map(|key| key.to_string()).collect();
        assert_eq!(keys, ["name", "url"]);
    }

    #[test]
    fn a_row_renders_as_its_serde_twin_does() {
        #[derive(serde::Serialize)]
        struct Twin {
            name: &'static str,
            url: &'static str,
        }
        let mut env = minijinja::Environment::new();
        env.add_template(
            "t.html",
            "{% for row in rows %}<a href=\"{{ row.url }}\">{{ row.name }}</a>{{ row|length }}{% endfor %}",
        )
        .unwrap();
        let template = env.get_template("t.html").unwrap();
        let direct = Value::from(vec![Row::value(
            &["name", "url"],
            [Value::from("A&B"), Value::from("/A%26B")],
        )]);
        let twin = vec![Twin {
            name: "A&B",
            url: "/A%26B",
        }];
        assert_eq!(
            template
                .render(minijinja::context! { rows => direct })
                .unwrap(),
            template
                .render(minijinja::context! { rows => twin })
                .unwrap()
        );
    }
}
