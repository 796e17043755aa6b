//! DAOS label rules for pools and containers.
//!
//! Mirrors `daos_label_is_valid` (a static inline in `daos_prop.h`, so not callable through
//! FFI): 1 to 127 characters from `[A-Za-z0-9._:-]`, and not shaped like a UUID (a label that
//! contains `-` and whose first 36 characters read as a UUID string is refused, because
//! libdaos could not tell it from a UUID). The server also refuses the placeholder labels
//! [`CONTAINER_LABEL_NOT_SET`] and [`POOL_LABEL_NOT_SET`].
//!
//! ```
//! use daos::label;
//!
//! assert!(label::is_valid("pvc-0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10"));
//! assert!(!label::is_valid("0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10")); // a UUID
//! assert!(!label::is_valid("has space"));
//! assert!(!label::is_valid(""));
//! assert!(label::validate_container_label("container_label_not_set").is_err());
//! ```

use crate::error::{Error, Result};

/// Longest valid label in bytes (`DAOS_PROP_LABEL_MAX_LEN`).
pub const MAX_LEN: usize = 127;

/// Label DAOS reports for a container created without one (`DAOS_PROP_CO_LABEL_DEFAULT`).
pub const CONTAINER_LABEL_NOT_SET: &str = "container_label_not_set";

/// Label DAOS reports for a pool created without one (`DAOS_PROP_PO_LABEL_DEFAULT`).
pub const POOL_LABEL_NOT_SET: &str = "pool_label_not_set";

/// Whether `label` is a syntactically valid DAOS label (same answer as `daos_label_is_valid`).
pub fn is_valid(label: &str) -> bool {
    let bytes = label.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_LEN {
        return false;
    }
    if !bytes
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
    {
        return false;
    }
    let maybe_uuid = bytes.contains(&b'-') && bytes.len() >= 36;
    !(maybe_uuid && is_uuid_string(&label[..36]))
}

/// Whether `s` is a 36-character UUID string (`8-4-4-4-12` hex digits), as libdaos checks
/// when it decides whether a pool or container argument is a UUID or a label.
pub fn is_uuid_string(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn validate(label: &str, placeholder: &str, op: &'static str) -> Result<()> {
    if !is_valid(label) {
        return Err(Error::invalid(
            op,
            format!(
                "invalid label {label:?}: 1-{MAX_LEN} characters of [A-Za-z0-9._:-], not a UUID"
            ),
        ));
    }
    if label == placeholder {
        return Err(Error::invalid(
            op,
            format!("label {label:?} is reserved by DAOS"),
        ));
    }
    Ok(())
}

/// Checks a label for a new or renamed container; the error is `-DER_INVAL` like libdaos'.
pub fn validate_container_label(label: &str) -> Result<()> {
    validate(
        label,
        CONTAINER_LABEL_NOT_SET,
        "label::validate_container_label",
    )
}

/// Checks a pool label; the error is `-DER_INVAL` like libdaos'.
pub fn validate_pool_label(label: &str) -> Result<()> {
    validate(label, POOL_LABEL_NOT_SET, "label::validate_pool_label")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(is_valid("a"));
        assert!(is_valid(&"x".repeat(127)));
        assert!(!is_valid(&"x".repeat(128)));
        assert!(!is_valid(""));
    }

    #[test]
    fn characters() {
        assert!(is_valid("Tank_01.a:b-c"));
        for bad in ["a b", "a/b", "a@b", "ä", "a\0b", "a\nb", "a+b"] {
            assert!(!is_valid(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn uuid_shapes() {
        let uuid = "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10";
        assert!(is_uuid_string(uuid));
        assert!(is_uuid_string(&uuid.to_uppercase()));
        assert!(!is_valid(uuid));
        // libdaos looks at the first 36 characters only.
        assert!(!is_valid(&format!("{uuid}-x")));
        assert!(is_valid(&format!("x{uuid}")));
        assert!(is_valid(&format!("pvc-{uuid}")));
        // 36 characters but not hex: a label.
        assert!(is_valid("0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a1z"));
        assert!(!is_uuid_string("0b7f4bd2x6c0e-4f7e-9e3a-3c1f3e6f8a10"));
    }

    #[test]
    fn placeholders() {
        assert!(is_valid(CONTAINER_LABEL_NOT_SET));
        let err = validate_container_label(CONTAINER_LABEL_NOT_SET).unwrap_err();
        assert!(err.is_invalid());
        assert!(validate_pool_label(POOL_LABEL_NOT_SET).is_err());
        assert!(validate_pool_label(CONTAINER_LABEL_NOT_SET).is_ok());
        assert!(
            validate_container_label("bad label")
                .unwrap_err()
                .is_invalid()
        );
    }
}
