//! Label and UUID-string rules: `daos_label_is_valid` and `daos_is_valid_uuid_string`, static
//! inlines of `src/include/daos_prop.h` (daos-stack/daos v2.8.0).

/// Longest label, without the NUL.
pub const LABEL_MAX_LEN: usize = 127;
/// What servers report for an unlabeled container; never valid as input.
pub const CONT_LABEL_DEFAULT: &str = "container_label_not_set";
/// What servers report for an unlabeled pool; never valid as input.
pub const POOL_LABEL_DEFAULT: &str = "pool_label_not_set";

/// True for a 36-character 8-4-4-4-12 hex UUID string.
pub fn is_uuid_string(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `daos_label_is_valid`: 1..=127 of `[A-Za-z0-9._:-]`, and not a UUID string.
pub fn is_valid(label: &str) -> bool {
    if label.is_empty() || label.len() > LABEL_MAX_LEN {
        return false;
    }
    if !label
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(&c))
    {
        return false;
    }
    !(label.contains('-') && is_uuid_string(label))
}

/// A pool or container named by the caller: its UUID, or its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameOrUuid {
    /// A UUID string.
    Uuid(uuid::Uuid),
    /// A label.
    Label(String),
}

impl NameOrUuid {
    /// Parses a caller's string; `None` when it is neither a valid label nor a UUID.
    pub fn parse(s: &str) -> Option<NameOrUuid> {
        if is_uuid_string(s) {
            return uuid::Uuid::parse_str(s).ok().map(NameOrUuid::Uuid);
        }
        is_valid(s).then(|| NameOrUuid::Label(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rules() {
        assert!(is_valid("tank"));
        assert!(is_valid("pvc-6a1e7f6c-9b1b-4f9e-9b0a-2c3d4e5f6a7b"));
        assert!(is_valid("a.b:c_d-e"));
        assert!(is_valid(&"x".repeat(127)));
        assert!(!is_valid(&"x".repeat(128)));
        assert!(!is_valid(""));
        assert!(!is_valid("has space"));
        assert!(!is_valid("slash/no"));
        assert!(!is_valid("6a1e7f6c-9b1b-4f9e-9b0a-2c3d4e5f6a7b"));
        // 36 hex chars without dashes is not UUID-shaped, so it is a label.
        assert!(is_valid(&"a".repeat(36)));
    }

    #[test]
    fn name_or_uuid() {
        assert_eq!(
            NameOrUuid::parse("tank"),
            Some(NameOrUuid::Label("tank".into()))
        );
        assert!(matches!(
            NameOrUuid::parse("6a1e7f6c-9b1b-4f9e-9b0a-2c3d4e5f6a7b"),
            Some(NameOrUuid::Uuid(_))
        ));
        assert_eq!(NameOrUuid::parse("bad label"), None);
    }
}
