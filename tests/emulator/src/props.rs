//! Pool and container properties as the emulated servers store them.
//!
//! Numbers from `src/include/daos_prop.h`; container defaults from `src/container/srv_layout.c`
//! and the v2.8 default changes (checksums CRC32 with server verify, EC cell 128 KiB; RF is
//! inherited from the pool, which on a single fault domain is 0) — daos-stack/daos v2.8.0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::acl::Acl;
use crate::der::{Der, DerResult};
use crate::label;

/// Container property numbers.
pub mod co {
    /// label (string)
    pub const LABEL: u32 = 0x1001;
    /// layout type
    pub const LAYOUT_TYPE: u32 = 0x1002;
    /// layout version
    pub const LAYOUT_VER: u32 = 0x1003;
    /// checksum type
    pub const CSUM: u32 = 0x1004;
    /// checksum chunk size
    pub const CSUM_CHUNK_SIZE: u32 = 0x1005;
    /// server-side checksum verification
    pub const CSUM_SERVER_VERIFY: u32 = 0x1006;
    /// redundancy factor
    pub const REDUN_FAC: u32 = 0x1007;
    /// redundancy level
    pub const REDUN_LVL: u32 = 0x1008;
    /// snapshot limit
    pub const SNAPSHOT_MAX: u32 = 0x1009;
    /// ACL (pointer)
    pub const ACL: u32 = 0x100a;
    /// compression
    pub const COMPRESS: u32 = 0x100b;
    /// encryption
    pub const ENCRYPT: u32 = 0x100c;
    /// owner (string)
    pub const OWNER: u32 = 0x100d;
    /// owner group (string)
    pub const OWNER_GROUP: u32 = 0x100e;
    /// deduplication
    pub const DEDUP: u32 = 0x100f;
    /// deduplication threshold
    pub const DEDUP_THRESHOLD: u32 = 0x1010;
    /// root object ids (pointer)
    pub const ROOTS: u32 = 0x1011;
    /// health status
    pub const STATUS: u32 = 0x1012;
    /// allocated object ids
    pub const ALLOCED_OID: u32 = 0x1013;
    /// EC cell size
    pub const EC_CELL_SZ: u32 = 0x1014;
    /// EC performance domain affinity
    pub const EC_PDA: u32 = 0x1015;
    /// replication performance domain affinity
    pub const RP_PDA: u32 = 0x1016;
    /// global version
    pub const GLOBAL_VERSION: u32 = 0x1017;
    /// scrubber disabled
    pub const SCRUBBER_DISABLED: u32 = 0x1018;
    /// object version
    pub const OBJ_VERSION: u32 = 0x1019;
    /// performance domain
    pub const PERF_DOMAIN: u32 = 0x101a;
    /// first invalid number
    pub const MAX: u32 = 0x101b;
    /// last invalid number below the range
    pub const MIN: u32 = 0x1000;
}

/// Pool property numbers (the 2.6.5 list the vendor headers carry).
pub mod po {
    /// label
    pub const LABEL: u32 = 1;
    /// ACL
    pub const ACL: u32 = 2;
    /// reserved rebuild space (%)
    pub const SPACE_RB: u32 = 3;
    /// self-heal policy
    pub const SELF_HEAL: u32 = 4;
    /// reclaim strategy
    pub const RECLAIM: u32 = 5;
    /// owner
    pub const OWNER: u32 = 6;
    /// owner group
    pub const OWNER_GROUP: u32 = 7;
    /// service ranks (pointer)
    pub const SVC_LIST: u32 = 8;
    /// EC cell size
    pub const EC_CELL_SZ: u32 = 9;
    /// data threshold
    pub const DATA_THRESH: u32 = 10;
    /// redundancy factor
    pub const REDUN_FAC: u32 = 11;
    /// EC performance domain affinity
    pub const EC_PDA: u32 = 12;
    /// replication performance domain affinity
    pub const RP_PDA: u32 = 13;
    /// global version
    pub const GLOBAL_VERSION: u32 = 14;
    /// first invalid number
    pub const MAX: u32 = 28;
}

/// `DAOS_PROP_CO_LAYOUT_POSIX`.
pub const LAYOUT_POSIX: u64 = 1;
/// `DAOS_PROP_CO_LAYOUT_MAX`.
pub const LAYOUT_MAX: u64 = 9;
/// `DAOS_PROP_ENTRY_NOT_SET`.
pub const ENTRY_NOT_SET: u16 = 1;

/// The value of one property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropValue {
    /// `dpe_val`.
    Val(u64),
    /// `dpe_str`.
    Str(String),
    /// ACL (`dpe_val_ptr` to a packed `struct daos_acl`), kept as ACE strings when possible.
    Acl(Vec<u8>),
    /// `struct daos_prop_co_roots`: 4 object ids as (lo, hi) pairs.
    Roots([u64; 8]),
    /// `d_rank_list_t`.
    Ranks(Vec<u32>),
}

/// Properties by number, in number order.
pub type Props = BTreeMap<u32, PropValue>;

/// The value kind a property number carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A number.
    Val,
    /// A string.
    Str,
    /// An ACL pointer.
    Acl,
    /// Container roots pointer.
    Roots,
    /// Rank list pointer.
    Ranks,
}

/// `daos_prop_has_str` / `daos_prop_has_ptr` as one classification.
pub fn kind(t: u32) -> Kind {
    match t {
        co::LABEL | co::OWNER | co::OWNER_GROUP | po::LABEL | po::OWNER | po::OWNER_GROUP => {
            Kind::Str
        }
        co::ACL | po::ACL => Kind::Acl,
        co::ROOTS => Kind::Roots,
        po::SVC_LIST => Kind::Ranks,
        _ => Kind::Val,
    }
}

/// `DAOS_PROP_CO_STATUS_VAL(status, flag, pm_ver)`.
pub fn co_status_val(status: u16, flag: u16, pm_ver: u32) -> u64 {
    (u64::from(flag) << 48) | (u64::from(status) << 32) | u64::from(pm_ver)
}

/// Container defaults the server fills in for everything the creator did not set.
pub fn container_defaults(owner: &str, owner_group: &str, pool_rf: u64) -> Props {
    let mut p = Props::new();
    p.insert(co::LABEL, PropValue::Str(label::CONT_LABEL_DEFAULT.into()));
    p.insert(co::LAYOUT_TYPE, PropValue::Val(0));
    p.insert(co::LAYOUT_VER, PropValue::Val(1));
    p.insert(co::CSUM, PropValue::Val(2)); // CRC32 in 2.8
    p.insert(co::CSUM_CHUNK_SIZE, PropValue::Val(32 * 1024));
    p.insert(co::CSUM_SERVER_VERIFY, PropValue::Val(1)); // on in 2.8
    p.insert(co::REDUN_FAC, PropValue::Val(pool_rf));
    p.insert(co::REDUN_LVL, PropValue::Val(2)); // NODE
    p.insert(co::SNAPSHOT_MAX, PropValue::Val(0));
    p.insert(co::ACL, PropValue::Acl(Acl::default_container().to_bytes()));
    p.insert(co::COMPRESS, PropValue::Val(0));
    p.insert(co::ENCRYPT, PropValue::Val(0));
    p.insert(co::OWNER, PropValue::Str(owner.into()));
    p.insert(co::OWNER_GROUP, PropValue::Str(owner_group.into()));
    p.insert(co::DEDUP, PropValue::Val(0));
    p.insert(co::DEDUP_THRESHOLD, PropValue::Val(4096));
    p.insert(co::ROOTS, PropValue::Roots([0; 8]));
    p.insert(co::STATUS, PropValue::Val(co_status_val(0, 0, 1)));
    p.insert(co::ALLOCED_OID, PropValue::Val(0));
    p.insert(co::EC_CELL_SZ, PropValue::Val(128 * 1024));
    p.insert(co::EC_PDA, PropValue::Val(1));
    p.insert(co::RP_PDA, PropValue::Val(3));
    p.insert(co::GLOBAL_VERSION, PropValue::Val(3));
    p.insert(co::SCRUBBER_DISABLED, PropValue::Val(0));
    p.insert(co::OBJ_VERSION, PropValue::Val(2));
    p.insert(co::PERF_DOMAIN, PropValue::Val(255)); // root
    p
}

/// Checks one input container property like `daos_prop_valid(prop, false, true)`.
pub fn validate_container_entry(t: u32, v: &PropValue) -> DerResult<()> {
    if t <= co::MIN || t >= co::MAX {
        return Err(Der::INVAL);
    }
    let val = |v: &PropValue| match v {
        PropValue::Val(x) => Ok(*x),
        _ => Err(Der::INVAL),
    };
    let ok = match t {
        co::LABEL => matches!(v, PropValue::Str(s) if label::is_valid(s)),
        co::ACL => match v {
            PropValue::Acl(b) => Acl::from_bytes(b).is_ok(),
            _ => false,
        },
        co::OWNER | co::OWNER_GROUP => {
            matches!(v, PropValue::Str(s) if !s.is_empty() && s.len() <= crate::acl::MAX_PRINCIPAL_LEN)
        }
        co::LAYOUT_TYPE => val(v)? < LAYOUT_MAX,
        co::CSUM => val(v)? <= 7,
        co::CSUM_CHUNK_SIZE => val(v)? < 1 << 32,
        co::CSUM_SERVER_VERIFY => val(v)? <= 1,
        co::DEDUP => val(v)? <= 2,
        co::DEDUP_THRESHOLD => (4096..1 << 32).contains(&val(v)?),
        co::REDUN_FAC => val(v)? <= 4,
        co::REDUN_LVL => (1..=254).contains(&val(v)?),
        co::COMPRESS => val(v)? <= 6,
        co::ENCRYPT => val(v)? <= 7,
        co::STATUS => {
            let s = (val(v)? >> 32) & 0xFFFF;
            s <= 1
        }
        co::PERF_DOMAIN => matches!(val(v)?, 1 | 255),
        co::ROOTS => matches!(v, PropValue::Roots(_)),
        _ => matches!(v, PropValue::Val(_)),
    };
    if ok { Ok(()) } else { Err(Der::INVAL) }
}

/// Properties that `daos_cont_set_prop` may change; others are immutable after create.
pub fn container_settable(t: u32) -> bool {
    matches!(
        t,
        co::LABEL | co::ACL | co::OWNER | co::OWNER_GROUP | co::STATUS | co::ALLOCED_OID
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_every_container_property() {
        let d = container_defaults("root@", "root@", 0);
        for t in co::LABEL..co::MAX {
            assert!(d.contains_key(&t), "no default for {t:#x}");
            let v = &d[&t];
            let matches_kind = matches!(
                (kind(t), v),
                (Kind::Val, PropValue::Val(_))
                    | (Kind::Str, PropValue::Str(_))
                    | (Kind::Acl, PropValue::Acl(_))
                    | (Kind::Roots, PropValue::Roots(_))
            );
            assert!(matches_kind, "{t:#x}");
        }
    }

    #[test]
    fn validation() {
        assert!(validate_container_entry(co::LABEL, &PropValue::Str("ok".into())).is_ok());
        assert_eq!(
            validate_container_entry(co::LABEL, &PropValue::Str("no way".into())),
            Err(Der::INVAL)
        );
        assert_eq!(
            validate_container_entry(co::REDUN_FAC, &PropValue::Val(5)),
            Err(Der::INVAL)
        );
        assert_eq!(
            validate_container_entry(co::DEDUP_THRESHOLD, &PropValue::Val(100)),
            Err(Der::INVAL)
        );
        assert_eq!(
            validate_container_entry(0x2000, &PropValue::Val(0)),
            Err(Der::INVAL)
        );
        assert_eq!(
            validate_container_entry(po::LABEL, &PropValue::Str("x".into())),
            Err(Der::INVAL)
        );
    }
}
