//! Container properties (`daos_prop_t`, `daos_prop.h`).
//!
//! [`Properties`] is a plain Rust value (an ordered list of `(PropType, PropValue)` with at
//! most one entry per type) that can be built, compared and printed without libdaos. It is
//! turned into a `daos_prop_t` only for the duration of a call (the private `RawProp`, freed
//! with `daos_prop_free`), and properties read from DAOS are copied back into one.
//!
//! Names and values follow the `daos container create --properties` syntax
//! (`DAOS_PROP_ENTRY_*` in `daos_cont_props.h`), including its aliases `rf` and `rf_lvl`:
//!
//! ```
//! use daos::{Properties, prop::{PropType, PropValue}};
//!
//! let props = Properties::from_pairs(&[("rf", "1"), ("cksum", "crc32"), ("cksum_size", "64KiB")])
//!     .unwrap()
//!     .label("vol-1")
//!     .owner_group("admins@");
//! assert_eq!(props.get_u64(PropType::REDUN_FAC), Some(1));
//! assert_eq!(props.get(PropType::CSUM), Some(&PropValue::Number(2)));
//! assert_eq!(props.get_u64(PropType::CSUM_CHUNK_SIZE), Some(65536));
//! assert_eq!(props.get_label(), Some("vol-1"));
//! assert!(Properties::from_pairs(&[("rf", "9")]).is_err());
//! assert!(Properties::from_pairs(&[("no_such_prop", "1")]).is_err());
//! ```

use std::ffi::{CStr, CString};
use std::fmt;

use crate::acl::{Acl, RawAcl, principal_is_valid};
use crate::error::{Der, Error, Result};
use crate::label;

const OP: &str = "Properties::from_pairs";

/// `DAOS_PROP_ENTRY_NOT_SET` (an anonymous enum in `daos_prop.h`): the entry was asked for
/// but has no value.
const PROP_ENTRY_NOT_SET: u16 = 1;

/// How a property's value is stored in `struct daos_prop_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `dpe_val` (u64).
    Number,
    /// `dpe_str` (a C string).
    Text,
    /// `dpe_val_ptr` to a `struct daos_acl`.
    Acl,
    /// `dpe_val_ptr` to another structure (container roots).
    Bytes,
}

/// A container property type (`enum daos_cont_props`). Unknown numbers from a newer DAOS are
/// kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropType(u32);

macro_rules! prop_types {
    ($($(#[$doc:meta])* $cname:ident = $code:literal, $name:literal, $kind:ident;)*) => {
        impl PropType {
            $($(#[$doc])* pub const $cname: PropType = PropType($code);)*

            /// Every container property type this crate knows.
            pub const ALL: &'static [PropType] = &[$(PropType::$cname),*];

            /// The name used by `daos container create --properties` (e.g. `"rd_fac"`).
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($code => Some($name),)* _ => None }
            }

            /// How the value is stored.
            pub fn value_kind(self) -> ValueKind {
                match self.0 { $($code => ValueKind::$kind,)* _ => ValueKind::Number }
            }
        }
    };
}

prop_types! {
    /// Container label (string).
    LABEL = 0x1001, "label", Text;
    /// Layout type (POSIX = 1; read-only).
    LAYOUT_TYPE = 0x1002, "layout_type", Number;
    /// Layout version (read-only).
    LAYOUT_VER = 0x1003, "layout_version", Number;
    /// Checksum algorithm.
    CSUM = 0x1004, "cksum", Number;
    /// Checksum chunk size in bytes.
    CSUM_CHUNK_SIZE = 0x1005, "cksum_size", Number;
    /// Server-side checksum verification (0 off, 1 on).
    CSUM_SERVER_VERIFY = 0x1006, "srv_cksum", Number;
    /// Redundancy factor 0..4.
    REDUN_FAC = 0x1007, "rd_fac", Number;
    /// Redundancy level (1 rank, 2 node, 3 fault domain on 2.8).
    REDUN_LVL = 0x1008, "rd_lvl", Number;
    /// Maximum number of snapshots kept.
    SNAPSHOT_MAX = 0x1009, "max_snapshot", Number;
    /// Access control list.
    ACL = 0x100a, "acl", Acl;
    /// Compression algorithm.
    COMPRESS = 0x100b, "compression", Number;
    /// Encryption algorithm.
    ENCRYPT = 0x100c, "encryption", Number;
    /// Owner user principal (`name@`).
    OWNER = 0x100d, "owner", Text;
    /// Owner group principal (`name@`).
    OWNER_GROUP = 0x100e, "group", Text;
    /// Deduplication (0 off, 1 memcmp, 2 hash).
    DEDUP = 0x100f, "dedup", Number;
    /// Deduplication threshold in bytes.
    DEDUP_THRESHOLD = 0x1010, "dedup_threshold", Number;
    /// Root object ids (read-only).
    ROOTS = 0x1011, "roots", Bytes;
    /// Health status (packed `flag << 48 | status << 32 | pool map version`).
    STATUS = 0x1012, "status", Number;
    /// Highest allocated object id (read-only).
    ALLOCED_OID = 0x1013, "alloc_oid", Number;
    /// Erasure-code cell size in bytes.
    EC_CELL_SZ = 0x1014, "ec_cell_sz", Number;
    /// Performance domain affinity of EC objects.
    EC_PDA = 0x1015, "ec_pda", Number;
    /// Performance domain affinity of replicated objects.
    RP_PDA = 0x1016, "rp_pda", Number;
    /// Global version (read-only).
    GLOBAL_VERSION = 0x1017, "global_version", Number;
    /// Scrubber disabled for this container.
    SCRUBBER_DISABLED = 0x1018, "scrubber_disabled", Number;
    /// Object version (read-only).
    OBJ_VERSION = 0x1019, "obj_version", Number;
    /// Performance domain level (255 root, 3 group).
    PERF_DOMAIN = 0x101a, "perf_domain", Number;
}

impl PropType {
    /// A property type from its number (`dpe_type`).
    pub const fn from_code(code: u32) -> PropType {
        PropType(code)
    }

    /// The number stored in `dpe_type`.
    pub const fn code(self) -> u32 {
        self.0
    }

    /// Looks a type up by its `--properties` name or one of the CLI's deprecated aliases
    /// (`rf` for `rd_fac`, `rf_lvl` for `rd_lvl`).
    pub fn from_name(name: &str) -> Option<PropType> {
        match name {
            "rf" => Some(PropType::REDUN_FAC),
            "rf_lvl" => Some(PropType::REDUN_LVL),
            _ => PropType::ALL
                .iter()
                .copied()
                .find(|t| t.name() == Some(name)),
        }
    }

    /// Whether DAOS sets this property itself (it may not be given at create time).
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            PropType::LAYOUT_TYPE
                | PropType::LAYOUT_VER
                | PropType::ROOTS
                | PropType::ALLOCED_OID
                | PropType::GLOBAL_VERSION
                | PropType::OBJ_VERSION
        )
    }

    fn choices(self) -> &'static [(&'static str, u64)] {
        match self {
            PropType::CSUM => &[
                ("off", 0),
                ("crc16", 1),
                ("crc32", 2),
                ("crc64", 3),
                ("sha1", 4),
                ("sha256", 5),
                ("sha512", 6),
                ("adler32", 7),
            ],
            PropType::CSUM_SERVER_VERIFY | PropType::SCRUBBER_DISABLED => &[("off", 0), ("on", 1)],
            PropType::DEDUP => &[("off", 0), ("memcmp", 1), ("hash", 2)],
            PropType::COMPRESS => &[
                ("off", 0),
                ("lz4", 1),
                ("deflate", 2),
                ("deflate1", 3),
                ("deflate2", 4),
                ("deflate3", 5),
                ("deflate4", 6),
            ],
            PropType::ENCRYPT => &[
                ("off", 0),
                ("aes-xts128", 1),
                ("aes-xts256", 2),
                ("aes-cbc128", 3),
                ("aes-cbc192", 4),
                ("aes-cbc256", 5),
                ("aes-gcm128", 6),
                ("aes-gcm256", 7),
            ],
            PropType::REDUN_FAC => &[("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4)],
            PropType::REDUN_LVL => &[
                ("1", 1),
                ("2", 2),
                ("3", 3),
                ("rank", 1),
                ("node", 2),
                ("pool", 3),
            ],
            PropType::PERF_DOMAIN => &[("root", 255), ("group", 3)],
            PropType::STATUS => &[("healthy", 0)],
            _ => &[],
        }
    }

    /// Parses a value as `daos container create --properties NAME:VALUE` would.
    pub fn parse_value(self, value: &str) -> Result<PropValue> {
        let name = self.name().unwrap_or("property");
        let bad = |why: String| {
            Error::invalid("PropType::parse_value", format!("{name}:{value:?}: {why}"))
        };
        if self.is_read_only() {
            return Err(bad("read-only property".into()));
        }
        let choices = self.choices();
        if !choices.is_empty() {
            return choices
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(value))
                .map(|(_, v)| PropValue::Number(*v))
                .ok_or_else(|| {
                    let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
                    bad(format!("expected one of {}", names.join(", ")))
                });
        }
        match self {
            PropType::LABEL => {
                label::validate_container_label(value)?;
                Ok(PropValue::Text(value.to_string()))
            }
            PropType::OWNER | PropType::OWNER_GROUP => {
                if principal_is_valid(value) {
                    Ok(PropValue::Text(value.to_string()))
                } else {
                    Err(bad("expected a principal like name@".into()))
                }
            }
            PropType::ACL => Err(bad("give an ACL with Properties::acl".into())),
            PropType::CSUM_CHUNK_SIZE | PropType::DEDUP_THRESHOLD => parse_size(value)
                .map(PropValue::Number)
                .ok_or_else(|| bad("expected a size like 32KiB".into())),
            PropType::EC_CELL_SZ => {
                let size =
                    parse_size(value).ok_or_else(|| bad("expected a size like 128KiB".into()))?;
                if !(1 << 10..=1 << 30).contains(&size) {
                    return Err(bad("EC cell size must be between 1 KiB and 1 GiB".into()));
                }
                Ok(PropValue::Number(size))
            }
            _ => value
                .parse::<u64>()
                .map(PropValue::Number)
                .map_err(|_| bad("expected a number".into())),
        }
    }

    /// The value in `--properties` syntax where it has a name (`crc32`), else the number.
    pub fn format_value(self, value: &PropValue) -> String {
        match value {
            PropValue::Number(n) => self
                .choices()
                .iter()
                .find(|(k, v)| v == n && k.parse::<u64>().is_err())
                .map(|(k, _)| k.to_string())
                .unwrap_or_else(|| n.to_string()),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for PropType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "prop_{:#x}", self.0),
        }
    }
}

/// Parses a size like go-humanize (used by the `daos` CLI): `4096`, `32K`/`32KB` (×1000),
/// `32KiB`/`32Ki` (×1024), up to `E`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1000_u64.pow(2),
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1000_u64.pow(3),
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1000_u64.pow(4),
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1000_u64.pow(5),
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1000_u64.pow(6),
        "ei" | "eib" => 1 << 60,
        _ => return None,
    };
    if number.is_empty() {
        return None;
    }
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(multiplier);
    }
    let f: f64 = number.parse().ok()?;
    let bytes = f * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// A property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    /// A number (most properties).
    Number(u64),
    /// A string (label, owner, owner group).
    Text(String),
    /// An access control list.
    Acl(Acl),
    /// An opaque structure DAOS manages (container roots).
    Bytes(Vec<u8>),
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::Number(n) => write!(f, "{n}"),
            PropValue::Text(s) => f.write_str(s),
            PropValue::Acl(a) => write!(f, "{a}"),
            PropValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

/// A set of container properties, at most one value per type, in insertion order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    entries: Vec<(PropType, PropValue)>,
}

impl Properties {
    /// No properties (DAOS defaults apply).
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Parses `(name, value)` pairs with `daos container create --properties` names.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<Properties> {
        let mut props = Properties::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref().trim(), value.as_ref().trim());
            let kind = PropType::from_name(name).ok_or_else(|| {
                Error::invalid(OP, format!("unknown container property {name:?}"))
            })?;
            if props.contains(kind) {
                return Err(Error::invalid(OP, format!("property {name:?} given twice")));
            }
            props.insert(kind, kind.parse_value(value)?);
        }
        Ok(props)
    }

    /// Parses the CLI's string form, `name:value` entries separated by `,` or `;`
    /// (`"rd_fac:1,cksum:crc32"`).
    pub fn parse(s: &str) -> Result<Properties> {
        let pairs: Vec<(&str, &str)> = s
            .split([',', ';'])
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                e.split_once(':').ok_or_else(|| {
                    Error::invalid("Properties::parse", format!("{e:?}: expected name:value"))
                })
            })
            .collect::<Result<_>>()?;
        Properties::from_pairs(&pairs)
    }

    /// Sets a property (replacing an earlier value of the same type) and returns `self`.
    pub fn set(mut self, kind: PropType, value: PropValue) -> Properties {
        self.insert(kind, value);
        self
    }

    /// Sets a property in place, replacing an earlier value of the same type.
    pub fn insert(&mut self, kind: PropType, value: PropValue) {
        match self.entries.iter_mut().find(|(k, _)| *k == kind) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((kind, value)),
        }
    }

    /// Removes a property; returns its value.
    pub fn remove(&mut self, kind: PropType) -> Option<PropValue> {
        let at = self.entries.iter().position(|(k, _)| *k == kind)?;
        Some(self.entries.remove(at).1)
    }

    /// Sets the label.
    pub fn label(self, label: impl Into<String>) -> Properties {
        self.set(PropType::LABEL, PropValue::Text(label.into()))
    }

    /// Sets the redundancy factor (0..=4).
    pub fn redundancy_factor(self, rf: u64) -> Properties {
        self.set(PropType::REDUN_FAC, PropValue::Number(rf))
    }

    /// Sets the redundancy level (1 rank, 2 node).
    pub fn redundancy_level(self, level: u64) -> Properties {
        self.set(PropType::REDUN_LVL, PropValue::Number(level))
    }

    /// Sets the owner group principal, e.g. `"admins@"`.
    pub fn owner_group(self, group: impl Into<String>) -> Properties {
        self.set(PropType::OWNER_GROUP, PropValue::Text(group.into()))
    }

    /// Sets the owner principal. DAOS refuses (`-DER_INVAL`) an owner other than the caller at
    /// create time; use this with `set_properties` on an existing container.
    pub fn owner(self, owner: impl Into<String>) -> Properties {
        self.set(PropType::OWNER, PropValue::Text(owner.into()))
    }

    /// Sets the ACL.
    pub fn acl(self, acl: Acl) -> Properties {
        self.set(PropType::ACL, PropValue::Acl(acl))
    }

    /// The value of a property.
    pub fn get(&self, kind: PropType) -> Option<&PropValue> {
        self.entries
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v)
    }

    /// A numeric property.
    pub fn get_u64(&self, kind: PropType) -> Option<u64> {
        match self.get(kind)? {
            PropValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A string property.
    pub fn get_str(&self, kind: PropType) -> Option<&str> {
        match self.get(kind)? {
            PropValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The label, if set.
    pub fn get_label(&self) -> Option<&str> {
        self.get_str(PropType::LABEL)
    }

    /// The owner principal, if set.
    pub fn get_owner(&self) -> Option<&str> {
        self.get_str(PropType::OWNER)
    }

    /// The owner group principal, if set.
    pub fn get_owner_group(&self) -> Option<&str> {
        self.get_str(PropType::OWNER_GROUP)
    }

    /// The ACL, if set.
    pub fn get_acl(&self) -> Option<&Acl> {
        match self.get(PropType::ACL)? {
            PropValue::Acl(a) => Some(a),
            _ => None,
        }
    }

    /// Whether a property is set.
    pub fn contains(&self, kind: PropType) -> bool {
        self.get(kind).is_some()
    }

    /// All properties, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (PropType, &PropValue)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Display for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}:{}", k.format_value(v))?;
        }
        Ok(())
    }
}

/// An owned `daos_prop_t *`, freed with `daos_prop_free` (which also frees the strings and
/// structures the entries point to, all allocated by libdaos).
pub(crate) struct RawProp(*mut daos_sys::daos_prop_t);

// SAFETY: the property list is plain heap memory owned by this value; nothing in it is tied to
// a thread.
unsafe impl Send for RawProp {}

impl RawProp {
    fn alloc(n: usize) -> Result<RawProp> {
        if n > daos_sys::DAOS_PROP_ENTRIES_MAX_NR as usize {
            return Err(Error::invalid(
                "Properties",
                format!("{n} properties (at most 128)"),
            ));
        }
        // SAFETY: plain allocation call; a NULL result is handled.
        let raw = unsafe { daos_sys::daos_prop_alloc(n as u32) };
        if raw.is_null() {
            return Err(Error::from_der("daos_prop_alloc", Der::Nomem));
        }
        Ok(RawProp(raw))
    }

    /// A property list for a query of every property (`dpp_entries == NULL`).
    pub(crate) fn query_all() -> Result<RawProp> {
        RawProp::alloc(0)
    }

    /// A property list asking a query for the given types only.
    pub(crate) fn query(types: &[PropType]) -> Result<RawProp> {
        let mut prop = RawProp::alloc(types.len())?;
        for (entry, kind) in prop.entries_mut().iter_mut().zip(types) {
            entry.dpe_type = kind.code();
        }
        Ok(prop)
    }

    /// Builds the C form of `props` (every string and ACL copied into libdaos allocations).
    pub(crate) fn from_properties(props: &Properties) -> Result<RawProp> {
        const OP: &str = "daos_prop_entry_set_str";
        let mut prop = RawProp::alloc(props.len())?;
        for (entry, (kind, value)) in prop.entries_mut().iter_mut().zip(props.iter()) {
            entry.dpe_type = kind.code();
            match value {
                PropValue::Number(n) => entry.__bindgen_anon_1.dpe_val = *n,
                PropValue::Text(s) => {
                    let c = CString::new(s.as_str()).map_err(|_| {
                        Error::invalid("Properties", format!("{kind} {s:?} contains a NUL byte"))
                    })?;
                    // SAFETY: `entry` is an entry of a live property list; the string is valid
                    // for `len` bytes and libdaos copies it.
                    let rc = unsafe {
                        daos_sys::daos_prop_entry_set_str(entry, c.as_ptr(), s.len() as _)
                    };
                    crate::error::check_rc(OP, rc)?;
                }
                PropValue::Acl(acl) => {
                    let raw: RawAcl = acl.to_raw()?;
                    // SAFETY: `raw` points to a complete ACL of `raw.size()` bytes; libdaos
                    // copies it into the entry.
                    let rc = unsafe {
                        daos_sys::daos_prop_entry_set_ptr(
                            entry,
                            raw.as_ptr() as *const _,
                            raw.size() as _,
                        )
                    };
                    crate::error::check_rc("daos_prop_entry_set_ptr", rc)?;
                }
                PropValue::Bytes(b) => {
                    // SAFETY: `b` is valid for `b.len()` bytes; libdaos copies it.
                    let rc = unsafe {
                        daos_sys::daos_prop_entry_set_ptr(
                            entry,
                            b.as_ptr() as *const _,
                            b.len() as _,
                        )
                    };
                    crate::error::check_rc("daos_prop_entry_set_ptr", rc)?;
                }
            }
        }
        Ok(prop)
    }

    fn entries_mut(&mut self) -> &mut [daos_sys::daos_prop_entry] {
        // SAFETY: `self.0` is a live list owned by `self` (borrowed mutably here);
        // `dpp_entries` has `dpp_nr` entries, or is NULL when nr is 0.
        unsafe {
            let p = &*self.0;
            if p.dpp_entries.is_null() || p.dpp_nr == 0 {
                &mut []
            } else {
                std::slice::from_raw_parts_mut(p.dpp_entries, p.dpp_nr as usize)
            }
        }
    }

    fn entries(&self) -> &[daos_sys::daos_prop_entry] {
        // SAFETY: as in `entries_mut`, borrowed shared.
        unsafe {
            let p = &*self.0;
            if p.dpp_entries.is_null() || p.dpp_nr == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p.dpp_entries, p.dpp_nr as usize)
            }
        }
    }

    /// Copies what libdaos filled in into a [`Properties`] (entries flagged "not set" and
    /// unknown pointer-valued types are skipped).
    pub(crate) fn to_properties(&self) -> Properties {
        let mut props = Properties::new();
        for entry in self.entries() {
            if entry.dpe_flags & PROP_ENTRY_NOT_SET != 0 {
                continue;
            }
            let kind = PropType::from_code(entry.dpe_type);
            // SAFETY: the union member read matches how libdaos stores this type
            // (`ValueKind`); pointers are checked for NULL and point to data owned by the list.
            let value = unsafe {
                match kind.value_kind() {
                    ValueKind::Number => Some(PropValue::Number(entry.__bindgen_anon_1.dpe_val)),
                    ValueKind::Text => {
                        let s = entry.__bindgen_anon_1.dpe_str;
                        (!s.is_null()).then(|| {
                            PropValue::Text(CStr::from_ptr(s).to_string_lossy().into_owned())
                        })
                    }
                    ValueKind::Acl => {
                        let p = entry.__bindgen_anon_1.dpe_val_ptr as *const daos_sys::daos_acl;
                        if p.is_null() {
                            None
                        } else {
                            let size =
                                std::mem::size_of::<daos_sys::daos_acl>() + (*p).dal_len as usize;
                            let bytes = std::slice::from_raw_parts(p as *const u8, size);
                            Acl::from_bytes(bytes).ok().map(PropValue::Acl)
                        }
                    }
                    ValueKind::Bytes => {
                        let p = entry.__bindgen_anon_1.dpe_val_ptr as *const u8;
                        // Only container roots use this kind: four object ids.
                        let size = std::mem::size_of::<daos_sys::daos_prop_co_roots>();
                        (!p.is_null())
                            .then(|| PropValue::Bytes(std::slice::from_raw_parts(p, size).to_vec()))
                    }
                }
            };
            if let Some(value) = value {
                props.insert(kind, value);
            }
        }
        props
    }

    /// The pointer to hand to libdaos.
    pub(crate) fn as_ptr(&self) -> *mut daos_sys::daos_prop_t {
        self.0
    }
}

impl Drop for RawProp {
    fn drop(&mut self) {
        // SAFETY: allocated by `daos_prop_alloc` (or filled by libdaos), freed once here.
        unsafe { daos_sys::daos_prop_free(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in PropType::ALL {
            let name = t.name().unwrap();
            assert_eq!(PropType::from_name(name), Some(*t), "{name}");
        }
        assert_eq!(PropType::from_name("rf"), Some(PropType::REDUN_FAC));
        assert_eq!(PropType::from_name("rf_lvl"), Some(PropType::REDUN_LVL));
        assert_eq!(PropType::LABEL.code(), 0x1001);
        assert_eq!(PropType::PERF_DOMAIN.code(), 0x101a);
        assert_eq!(PropType::from_code(0x1fff).to_string(), "prop_0x1fff");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("32K"), Some(32_000));
        assert_eq!(parse_size("32KiB"), Some(32 * 1024));
        assert_eq!(parse_size("1 MiB"), Some(1 << 20));
        assert_eq!(parse_size("1.5Ki"), Some(1536));
        assert_eq!(parse_size("8G"), Some(8_000_000_000));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
    }

    #[test]
    fn values() {
        let p = Properties::from_pairs(&[
            ("cksum", "SHA256"),
            ("srv_cksum", "on"),
            ("dedup", "hash"),
            ("dedup_threshold", "8KiB"),
            ("compression", "lz4"),
            ("encryption", "aes-gcm256"),
            ("rd_lvl", "node"),
            ("max_snapshot", "10"),
            ("ec_cell_sz", "128KiB"),
            ("ec_pda", "1"),
            ("rp_pda", "2"),
            ("perf_domain", "group"),
            ("status", "healthy"),
            ("group", "admins@"),
            ("label", "vol"),
        ])
        .unwrap();
        assert_eq!(p.get_u64(PropType::CSUM), Some(5));
        assert_eq!(p.get_u64(PropType::CSUM_SERVER_VERIFY), Some(1));
        assert_eq!(p.get_u64(PropType::DEDUP), Some(2));
        assert_eq!(p.get_u64(PropType::DEDUP_THRESHOLD), Some(8192));
        assert_eq!(p.get_u64(PropType::COMPRESS), Some(1));
        assert_eq!(p.get_u64(PropType::ENCRYPT), Some(7));
        assert_eq!(p.get_u64(PropType::REDUN_LVL), Some(2));
        assert_eq!(p.get_u64(PropType::SNAPSHOT_MAX), Some(10));
        assert_eq!(p.get_u64(PropType::EC_CELL_SZ), Some(131072));
        assert_eq!(p.get_u64(PropType::PERF_DOMAIN), Some(3));
        assert_eq!(p.get_owner_group(), Some("admins@"));
        assert_eq!(p.get_label(), Some("vol"));
        assert_eq!(p.len(), 15);
    }

    #[test]
    fn rejects() {
        for (k, v) in [
            ("rd_fac", "5"),
            ("cksum", "md5"),
            ("label", "bad label"),
            ("label", "container_label_not_set"),
            ("group", "admins"),
            ("layout_type", "1"),
            ("roots", "x"),
            ("acl", "A::OWNER@:rw"),
            ("ec_cell_sz", "1"),
            ("max_snapshot", "-1"),
            ("cksum_size", "lots"),
            ("nope", "1"),
        ] {
            let err = Properties::from_pairs(&[(k, v)]).expect_err(k);
            assert!(err.is_invalid(), "{k}:{v}");
        }
        assert!(Properties::from_pairs(&[("rf", "1"), ("rd_fac", "2")]).is_err());
    }

    #[test]
    fn string_form() {
        let p = Properties::parse("rd_fac:1,cksum:crc32;label:x").unwrap();
        assert_eq!(p.to_string(), "rd_fac:1,cksum:crc32,label:x");
        assert_eq!(Properties::parse(&p.to_string()).unwrap(), p);
        assert!(Properties::parse("rd_fac").is_err());
        assert!(Properties::parse("").unwrap().is_empty());
    }

    #[test]
    fn builder_replaces() {
        let mut p = Properties::new()
            .redundancy_factor(1)
            .redundancy_factor(2)
            .label("a");
        assert_eq!(p.get_u64(PropType::REDUN_FAC), Some(2));
        assert_eq!(p.len(), 2);
        assert_eq!(p.remove(PropType::LABEL), Some(PropValue::Text("a".into())));
        assert!(!p.contains(PropType::LABEL));
        let acl = Acl::from_strs(&["A::OWNER@:rw"]).unwrap();
        let p = p.acl(acl.clone()).owner("me@").redundancy_level(1);
        assert_eq!(p.get_acl(), Some(&acl));
        assert_eq!(p.get_owner(), Some("me@"));
        assert_eq!(p.iter().count(), 4);
    }
}
