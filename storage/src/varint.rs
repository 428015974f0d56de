//! LEB128 variable-length unsigned integers: the numbers inside compact-history deltas
//! ([`crate::compact`]) and blame records ([`crate::blame`]). Small numbers (line counts, runs,
//! revision numbers) take one or two bytes.

/// Appends `value`, seven bits a byte, low bits first; the high bit says another byte follows.
pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads the number at `*at` and moves `*at` past it. `None` when the bytes end inside the number
/// or it runs past 64 bits: stored bytes may be damaged, and must never panic the reader.
pub(crate) fn take(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn round_trips(values in prop::collection::vec(any::<u64>(), 0..50)) {
            let mut bytes = Vec::new();
            for value in &values {
                put(&mut bytes, *value);
            }
            let mut at = 0;
            for value in &values {
                prop_assert_eq!(take(&bytes, &mut at), Some(*value));
            }
            prop_assert_eq!(at, bytes.len());
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut at = 0;
            while take(&bytes, &mut at).is_some() {}
        }
    }

    #[test]
    fn small_numbers_take_one_byte_and_truncation_is_none() {
        let mut bytes = Vec::new();
        put(&mut bytes, 127);
        assert_eq!(bytes, [127]);
        put(&mut bytes, 300);
        assert_eq!(take(&bytes[1..2], &mut 0), None);
        assert_eq!(take(&[0xff; 11], &mut 0), None);
    }
}
