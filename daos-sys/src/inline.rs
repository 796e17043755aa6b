//! Rust equivalents of the static inline functions and constant macros of
//! the DAOS headers, which bindgen cannot bind. Each mirrors the upstream
//! definition named in its doc comment (daos-stack/daos, `src/include/`).

use core::ffi::c_void;

use crate::bindings::{
    DAOS_ANCHOR_BUF_MAX, DAOS_PROP_ENTRY_NOT_SET, DAOS_PROP_LABEL_MAX_LEN,
    DAOS_PROP_PO_REDUN_FAC_MAX, d_iov_t, daos_acl_access_type,
    daos_acl_access_type_DAOS_ACL_ACCESS_ALARM, daos_acl_access_type_DAOS_ACL_ACCESS_ALLOW,
    daos_acl_access_type_DAOS_ACL_ACCESS_AUDIT, daos_acl_flags,
    daos_acl_flags_DAOS_ACL_FLAG_ACCESS_FAIL, daos_acl_flags_DAOS_ACL_FLAG_ACCESS_SUCCESS,
    daos_acl_flags_DAOS_ACL_FLAG_GROUP, daos_acl_flags_DAOS_ACL_FLAG_POOL_INHERIT, daos_acl_perm,
    daos_acl_perm_DAOS_ACL_PERM_CREATE_CONT, daos_acl_perm_DAOS_ACL_PERM_DEL_CONT,
    daos_acl_perm_DAOS_ACL_PERM_GET_ACL, daos_acl_perm_DAOS_ACL_PERM_GET_PROP,
    daos_acl_perm_DAOS_ACL_PERM_READ, daos_acl_perm_DAOS_ACL_PERM_SET_ACL,
    daos_acl_perm_DAOS_ACL_PERM_SET_OWNER, daos_acl_perm_DAOS_ACL_PERM_SET_PROP,
    daos_acl_perm_DAOS_ACL_PERM_WRITE, daos_anchor_t, daos_anchor_type_t_DAOS_ANCHOR_TYPE_EOF,
    daos_anchor_type_t_DAOS_ANCHOR_TYPE_ZERO, daos_co_status, daos_handle_t, daos_prop_entry,
};

/// The invalid handle, `DAOS_HDL_INVAL` (`daos_types.h`: `(daos_handle_t){0}`).
pub const DAOS_HDL_INVAL: daos_handle_t = daos_handle_t { cookie: 0 };

/// "No transaction": read or write the latest state (`daos_types.h`,
/// `DAOS_TX_NONE` is `DAOS_HDL_INVAL`).
pub const DAOS_TX_NONE: daos_handle_t = DAOS_HDL_INVAL;

/// A fresh iteration anchor, `DAOS_ANCHOR_INIT` (`daos_types.h`).
pub const DAOS_ANCHOR_INIT: daos_anchor_t = daos_anchor_t {
    da_type: daos_anchor_type_t_DAOS_ANCHOR_TYPE_ZERO as u16,
    da_shard: 0,
    da_flags: 0,
    da_sub_anchors: 0,
    da_buf: [0; DAOS_ANCHOR_BUF_MAX as usize],
};

// The ACL masks are macros over enum constants upstream (`daos_security.h`),
// which bindgen drops, on an installed DAOS as on the vendor headers.

/// Every permission a pool ACE may grant, `DAOS_ACL_PERM_POOL_ALL` (`daos_security.h`):
/// read, write, get-prop, create and delete containers (0x1F).
pub const DAOS_ACL_PERM_POOL_ALL: daos_acl_perm = daos_acl_perm_DAOS_ACL_PERM_READ
    | daos_acl_perm_DAOS_ACL_PERM_GET_PROP
    | daos_acl_perm_DAOS_ACL_PERM_WRITE
    | daos_acl_perm_DAOS_ACL_PERM_CREATE_CONT
    | daos_acl_perm_DAOS_ACL_PERM_DEL_CONT;

/// Every permission a container ACE may grant, `DAOS_ACL_PERM_CONT_ALL` (`daos_security.h`).
pub const DAOS_ACL_PERM_CONT_ALL: daos_acl_perm = daos_acl_perm_DAOS_ACL_PERM_READ
    | daos_acl_perm_DAOS_ACL_PERM_WRITE
    | daos_acl_perm_DAOS_ACL_PERM_DEL_CONT
    | daos_acl_perm_DAOS_ACL_PERM_GET_PROP
    | daos_acl_perm_DAOS_ACL_PERM_SET_PROP
    | daos_acl_perm_DAOS_ACL_PERM_GET_ACL
    | daos_acl_perm_DAOS_ACL_PERM_SET_ACL
    | daos_acl_perm_DAOS_ACL_PERM_SET_OWNER;

/// Every permission bit DAOS knows, `DAOS_ACL_PERM_ALL` (`daos_security.h`).
pub const DAOS_ACL_PERM_ALL: daos_acl_perm = DAOS_ACL_PERM_POOL_ALL | DAOS_ACL_PERM_CONT_ALL;

/// Every access type bit, `DAOS_ACL_ACCESS_ALL` (`daos_security.h`).
pub const DAOS_ACL_ACCESS_ALL: daos_acl_access_type = daos_acl_access_type_DAOS_ACL_ACCESS_ALLOW
    | daos_acl_access_type_DAOS_ACL_ACCESS_AUDIT
    | daos_acl_access_type_DAOS_ACL_ACCESS_ALARM;

/// Every ACE flag bit, `DAOS_ACL_FLAG_ALL` (`daos_security.h`).
pub const DAOS_ACL_FLAG_ALL: daos_acl_flags = daos_acl_flags_DAOS_ACL_FLAG_GROUP
    | daos_acl_flags_DAOS_ACL_FLAG_POOL_INHERIT
    | daos_acl_flags_DAOS_ACL_FLAG_ACCESS_FAIL
    | daos_acl_flags_DAOS_ACL_FLAG_ACCESS_SUCCESS;

/// Length of a UUID in its 8-4-4-4-12 string form.
const UUID_STR_LEN: usize = 36;

/// Mirrors `daos_handle_is_inval` (`daos_types.h`): cookie 0 is invalid.
pub const fn daos_handle_is_inval(hdl: daos_handle_t) -> bool {
    hdl.cookie == 0
}

/// Mirrors `daos_handle_is_valid` (`daos_types.h`).
pub const fn daos_handle_is_valid(hdl: daos_handle_t) -> bool {
    !daos_handle_is_inval(hdl)
}

/// Mirrors `d_iov_set` (`gurt/common.h`): points `iov` at `buf` and marks
/// all `size` bytes as both capacity and content.
pub fn d_iov_set(iov: &mut d_iov_t, buf: *mut c_void, size: usize) {
    iov.iov_buf = buf;
    iov.iov_buf_len = size;
    iov.iov_len = size;
}

/// Mirrors `daos_anchor_init` (`daos_types.h`): resets `anchor` to
/// [`DAOS_ANCHOR_INIT`]. Upstream ignores `opts` too.
pub fn daos_anchor_init(anchor: &mut daos_anchor_t, _opts: u32) {
    *anchor = DAOS_ANCHOR_INIT;
}

/// Mirrors `daos_anchor_is_eof` (`daos_types.h`): the listing is complete.
pub const fn daos_anchor_is_eof(anchor: &daos_anchor_t) -> bool {
    anchor.da_type as u32 == daos_anchor_type_t_DAOS_ANCHOR_TYPE_EOF
}

/// Mirrors `daos_anchor_set_eof` (`daos_types.h`).
pub fn daos_anchor_set_eof(anchor: &mut daos_anchor_t) {
    anchor.da_type = daos_anchor_type_t_DAOS_ANCHOR_TYPE_EOF as u16;
}

/// Mirrors `daos_prop_is_set` (`daos_prop.h`): an entry exists and does not
/// carry `DAOS_PROP_ENTRY_NOT_SET`. `None` stands for the C NULL pointer.
pub fn daos_prop_is_set(entry: Option<&daos_prop_entry>) -> bool {
    entry.is_some_and(|e| u32::from(e.dpe_flags) & DAOS_PROP_ENTRY_NOT_SET == 0)
}

/// Mirrors `daos_rf_is_valid` (`daos_prop.h`): redundancy factors 0..=4.
pub const fn daos_rf_is_valid(rf: u64) -> bool {
    rf <= DAOS_PROP_PO_REDUN_FAC_MAX as u64
}

/// Mirrors `daos_prop_co_status_2_val` (`daos_prop.h`, via
/// `DAOS_PROP_CO_STATUS_VAL`): packs a container status into the value of
/// `DAOS_PROP_CO_STATUS`.
pub const fn daos_prop_co_status_2_val(status: &daos_co_status) -> u64 {
    ((status.dcs_flags as u64) << 48)
        | ((status.dcs_status as u64) << 32)
        | status.dcs_pm_ver as u64
}

/// Mirrors `daos_prop_val_2_co_status` (`daos_prop.h`).
pub const fn daos_prop_val_2_co_status(val: u64) -> daos_co_status {
    daos_co_status {
        dcs_status: ((val >> 32) & 0xFFFF) as u16,
        dcs_flags: (val >> 48) as u16,
        dcs_pm_ver: (val & 0xFFFF_FFFF) as u32,
    }
}

/// True when `s` has the 8-4-4-4-12 shape of a UUID string: 36 characters,
/// `-` at offsets 8, 13, 18 and 23, hex digits (either case) elsewhere.
///
/// Mirrors the format check of `daos_is_valid_uuid_string` (v2.6; v2.8 added
/// an argument to the C function) and the UUID test inside
/// `daos_label_is_valid` (`daos_prop.h`).
pub fn daos_is_valid_uuid_string(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == UUID_STR_LEN
        && bytes.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Mirrors `daos_label_is_valid` (`daos_prop.h`): 1 to
/// `DAOS_PROP_LABEL_MAX_LEN` (127) characters, each ASCII alphanumeric or one
/// of `.`, `_`, `:`, `-`; and, when it contains `-`, not a UUID string (so a
/// label can never be mistaken for a UUID).
///
/// Upstream does not reject the server-side defaults
/// (`container_label_not_set`, `pool_label_not_set`); neither does this.
pub fn daos_label_is_valid(label: &str) -> bool {
    let bytes = label.as_bytes();
    if bytes.is_empty() || bytes.len() > DAOS_PROP_LABEL_MAX_LEN as usize {
        return false;
    }
    let allowed = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-');
    if !bytes.iter().all(allowed) {
        return false;
    }
    !(bytes.contains(&b'-') && daos_is_valid_uuid_string(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "6b9ac5e4-2f0d-4b8e-9c1a-0123456789ab";

    #[test]
    fn invalid_handle_is_cookie_zero() {
        assert!(daos_handle_is_inval(DAOS_HDL_INVAL));
        assert!(!daos_handle_is_valid(DAOS_HDL_INVAL));
        assert!(daos_handle_is_inval(DAOS_TX_NONE));
        let pool = daos_handle_t {
            cookie: (1 << 4) | 3,
        };
        assert!(daos_handle_is_valid(pool));
        assert!(!daos_handle_is_inval(pool));
    }

    #[test]
    fn iov_set_fills_buffer_length_and_content_length() {
        let mut data = [0u8; 7];
        let mut iov = d_iov_t::default();
        d_iov_set(&mut iov, data.as_mut_ptr().cast(), data.len());
        assert_eq!(iov.iov_buf, data.as_mut_ptr().cast::<c_void>());
        assert_eq!(iov.iov_buf_len, 7);
        assert_eq!(iov.iov_len, 7);
    }

    #[test]
    fn anchor_init_resets_and_eof_is_detected() {
        let mut anchor = DAOS_ANCHOR_INIT;
        assert!(!daos_anchor_is_eof(&anchor));
        daos_anchor_set_eof(&mut anchor);
        assert_eq!(anchor.da_type, 3);
        assert!(daos_anchor_is_eof(&anchor));

        anchor.da_shard = 2;
        anchor.da_buf[5] = 9;
        daos_anchor_init(&mut anchor, 0);
        assert!(!daos_anchor_is_eof(&anchor));
        assert_eq!(anchor.da_type, 0);
        assert_eq!(anchor.da_shard, 0);
        assert!(anchor.da_buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn prop_is_set_honours_not_set_flag_and_null() {
        let mut entry = daos_prop_entry::default();
        assert!(daos_prop_is_set(Some(&entry)));
        entry.dpe_flags = DAOS_PROP_ENTRY_NOT_SET as u16;
        assert!(!daos_prop_is_set(Some(&entry)));
        // Other flag bits do not count as "not set".
        entry.dpe_flags = 0x2;
        assert!(daos_prop_is_set(Some(&entry)));
        assert!(!daos_prop_is_set(None));
    }

    #[test]
    fn rf_range() {
        assert!(daos_rf_is_valid(0));
        assert!(daos_rf_is_valid(4));
        assert!(!daos_rf_is_valid(5));
    }

    #[test]
    fn co_status_round_trips_through_packed_value() {
        let status = daos_co_status {
            dcs_status: 1,
            dcs_flags: 1,
            dcs_pm_ver: 0xdead_beef,
        };
        let val = daos_prop_co_status_2_val(&status);
        assert_eq!(val, (1 << 48) | (1 << 32) | 0xdead_beef);
        let back = daos_prop_val_2_co_status(val);
        assert_eq!(
            (back.dcs_status, back.dcs_flags, back.dcs_pm_ver),
            (1, 1, 0xdead_beef)
        );
    }

    #[test]
    fn uuid_strings() {
        assert!(daos_is_valid_uuid_string(UUID));
        assert!(daos_is_valid_uuid_string(&UUID.to_uppercase()));
        assert!(!daos_is_valid_uuid_string(&UUID[1..]));
        assert!(!daos_is_valid_uuid_string(&format!("{UUID}0")));
        assert!(!daos_is_valid_uuid_string(
            "6b9ac5e4-2f0d-4b8e-9c1a_0123456789ab"
        ));
        assert!(!daos_is_valid_uuid_string(
            "6b9ac5e4-2f0d-4b8e-9c1g-0123456789ab"
        ));
        assert!(!daos_is_valid_uuid_string(
            "6b9ac5e42f0d-4b8e-9c1a-0123456789ab-"
        ));
        assert!(!daos_is_valid_uuid_string(""));
    }

    #[test]
    fn labels_accept_the_daos_alphabet() {
        assert!(daos_label_is_valid("tank"));
        assert!(daos_label_is_valid("a"));
        assert!(daos_label_is_valid("pvc-1.2_3:x"));
        assert!(daos_label_is_valid(&format!("pvc-{UUID}")));
        assert!(daos_label_is_valid(&"x".repeat(127)));
        // Upstream leaves the server-side defaults to the server.
        assert!(daos_label_is_valid("container_label_not_set"));
    }

    #[test]
    fn acl_masks_have_the_upstream_values() {
        // A pool ACE cannot carry the property, ACL or owner bits.
        assert_eq!(DAOS_ACL_PERM_POOL_ALL, 0x1F);
        assert_eq!(DAOS_ACL_PERM_CONT_ALL, 0x1FB);
        assert_eq!(DAOS_ACL_PERM_ALL, 0x1FF);
        assert_eq!(DAOS_ACL_ACCESS_ALL, 7);
        assert_eq!(DAOS_ACL_FLAG_ALL, 0xF);
    }

    #[test]
    fn labels_reject_length_charset_and_uuids() {
        assert!(!daos_label_is_valid(""));
        assert!(!daos_label_is_valid(&"x".repeat(128)));
        for bad in ["a b", "a/b", "a@b", "ä", "a\0b", "tab\t", "semi;colon"] {
            assert!(!daos_label_is_valid(bad), "{bad:?} accepted");
        }
        assert!(!daos_label_is_valid(UUID));
        assert!(!daos_label_is_valid(&UUID.to_uppercase()));
        // 36 characters with dashes in the right places but no hex: a label.
        assert!(daos_label_is_valid("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
        // 32 hex digits without dashes is not UUID-shaped for DAOS either.
        assert!(daos_label_is_valid("6b9ac5e42f0d4b8e9c1a0123456789ab"));
    }
}
