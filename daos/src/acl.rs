//! Access control lists of pools and containers (`daos_security.h`).
//!
//! An ACL is a list of access control entries (ACEs). Each ACE has the string form DAOS tools
//! use, `ACCESS:FLAGS:PRINCIPAL:PERMISSIONS`:
//!
//! | field | letters |
//! | --- | --- |
//! | access | `A` allow, `U` audit, `L` alarm (at least one) |
//! | flags | `G` group principal, `S` audit success, `F` audit failure, `P` pool inherit |
//! | principal | `OWNER@`, `GROUP@`, `EVERYONE@`, or `name@[domain]` (a user, or a group with `G`) |
//! | permissions | `r` read, `w` write, `c` create container, `d` delete container, `t` get property, `T` set property, `a` get ACL, `A` set ACL, `o` set owner |
//!
//! Strings are checked here with the rules of `daos_ace_from_str`/`daos_ace_is_valid`, so a
//! bad ACL is reported before any call to DAOS; the binary form handed to libdaos is built by
//! `daos_acl_from_strs`.
//!
//! ```
//! use daos::{Acl, acl::{Perms, Principal}};
//!
//! let acl = Acl::from_strs(&["A::OWNER@:rwdtTaAo", "A:G:GROUP@:rwtT", "A::EVERYONE@:r"]).unwrap();
//! assert_eq!(acl.aces().len(), 3);
//! assert_eq!(acl.get(&Principal::Everyone).unwrap().perms(), Perms::READ);
//! assert_eq!(acl.to_strs()[1], "A:G:GROUP@:rwtT");
//! assert!(Acl::from_strs(&["A::GROUP@:r"]).is_err()); // GROUP@ needs the G flag
//! ```

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use crate::error::{Error, Result};

/// Longest principal name, `DAOS_ACL_MAX_PRINCIPAL_LEN`.
pub const MAX_PRINCIPAL_LEN: usize = 255;

/// Longest ACE string accepted by `daos_ace_from_str` (`DAOS_ACL_MAX_ACE_STR_LEN`).
pub const MAX_ACE_STR_LEN: usize = 8192;

const OP: &str = "Ace::parse";

macro_rules! bit_set {
    ($(#[$doc:meta])* $name:ident($repr:ty) { $($(#[$cdoc:meta])* $cname:ident = $bit:literal, $letter:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name($repr);

        impl $name {
            $($(#[$cdoc])* pub const $cname: $name = $name($bit);)*
            /// No bits.
            pub const NONE: $name = $name(0);
            /// Every bit DAOS defines.
            pub const ALL: $name = $name(0 $(| $bit)*);
            const LETTERS: &'static [($repr, char)] = &[$(($bit, $letter)),*];

            /// The raw bits, as stored in `struct daos_ace`.
            pub const fn bits(self) -> $repr { self.0 }

            /// From raw bits; `None` if a bit DAOS does not define is set.
            pub const fn from_bits(bits: $repr) -> Option<$name> {
                if bits & !Self::ALL.0 == 0 { Some($name(bits)) } else { None }
            }

            /// Whether every bit of `other` is set here.
            pub const fn contains(self, other: $name) -> bool { self.0 & other.0 == other.0 }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool { self.0 == 0 }

            /// Parses the letter form; `None` on an unknown letter.
            pub fn from_letters(s: &str) -> Option<$name> {
                s.chars().try_fold($name(0), |acc, ch| {
                    Self::LETTERS.iter().find(|(_, l)| *l == ch).map(|(bit, _)| $name(acc.0 | bit))
                })
            }

            /// The letter form, in DAOS' canonical order.
            pub fn letters(self) -> String {
                Self::LETTERS.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, l)| *l).collect()
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name { $name(self.0 | rhs.0) }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) { self.0 |= rhs.0; }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.letters()) }
        }
    };
}

bit_set! {
    /// What an ACE does when it matches (`enum daos_acl_access_type`).
    AccessTypes(u8) {
        /// `A`: grant the permissions.
        ALLOW = 1, 'A';
        /// `U`: log uses of the permissions.
        AUDIT = 2, 'U';
        /// `L`: raise an alarm on uses of the permissions.
        ALARM = 4, 'L';
    }
}

bit_set! {
    /// ACE flags (`enum daos_acl_flags`).
    AceFlags(u16) {
        /// `G`: the principal is a group.
        GROUP = 1, 'G';
        /// `S`: audit/alarm on successful access.
        ACCESS_SUCCESS = 8, 'S';
        /// `F`: audit/alarm on failed access.
        ACCESS_FAIL = 4, 'F';
        /// `P`: containers inherit this pool entry.
        POOL_INHERIT = 2, 'P';
    }
}

bit_set! {
    /// Permissions (`enum daos_acl_perm`).
    Perms(u64) {
        /// `r`: read data / connect.
        READ = 1, 'r';
        /// `w`: write data.
        WRITE = 2, 'w';
        /// `c`: create containers (pool ACLs).
        CREATE_CONT = 4, 'c';
        /// `d`: delete containers.
        DEL_CONT = 8, 'd';
        /// `t`: get properties.
        GET_PROP = 16, 't';
        /// `T`: set properties.
        SET_PROP = 32, 'T';
        /// `a`: get the ACL.
        GET_ACL = 64, 'a';
        /// `A`: set the ACL.
        SET_ACL = 128, 'A';
        /// `o`: change the owner.
        SET_OWNER = 256, 'o';
    }
}

/// Who an ACE applies to (`enum daos_acl_principal_type` plus the name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// `OWNER@`: the owner user of the pool or container.
    Owner,
    /// `GROUP@`: the owner group.
    OwnerGroup,
    /// `EVERYONE@`: anyone not matched by another entry.
    Everyone,
    /// A named user, `name@[domain]`.
    User(String),
    /// A named group, `name@[domain]` (written with the `G` flag).
    Group(String),
}

impl Principal {
    /// The `daos_acl_principal_type` number.
    pub const fn type_code(&self) -> u8 {
        match self {
            Principal::Owner => 0,
            Principal::User(_) => 1,
            Principal::OwnerGroup => 2,
            Principal::Group(_) => 3,
            Principal::Everyone => 4,
        }
    }

    /// Whether this principal is a group (and so needs the `G` flag).
    pub const fn is_group(&self) -> bool {
        matches!(self, Principal::OwnerGroup | Principal::Group(_))
    }

    /// The principal as written in an ACE string.
    pub fn as_str(&self) -> &str {
        match self {
            Principal::Owner => "OWNER@",
            Principal::OwnerGroup => "GROUP@",
            Principal::Everyone => "EVERYONE@",
            Principal::User(n) | Principal::Group(n) => n,
        }
    }
}

/// Whether `name` has the `name@[domain]` shape DAOS requires of a principal
/// (`daos_acl_principal_is_valid`): a non-empty name without `@`, one `@`, an optional domain.
pub fn principal_is_valid(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_PRINCIPAL_LEN || name.contains('\0') {
        return false;
    }
    match name.split_once('@') {
        Some((user, domain)) => !user.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// One access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ace {
    access: AccessTypes,
    flags: AceFlags,
    principal: Principal,
    perms: Perms,
}

impl Ace {
    /// An `allow` entry granting `perms` to `principal` (flags follow from the principal).
    pub fn allow(principal: Principal, perms: Perms) -> Ace {
        let flags = if principal.is_group() {
            AceFlags::GROUP
        } else {
            AceFlags::NONE
        };
        Ace {
            access: AccessTypes::ALLOW,
            flags,
            principal,
            perms,
        }
    }

    /// Parses one ACE string, e.g. `"A:G:devs@:rw"`, with `daos_ace_from_str`'s rules.
    pub fn parse(s: &str) -> Result<Ace> {
        let bad = |why: &str| Error::invalid(OP, format!("ACE {s:?}: {why}"));
        if s.len() > MAX_ACE_STR_LEN {
            return Err(bad("too long"));
        }
        let fields: Vec<&str> = s.split(':').collect();
        let [access, flags, principal, perms] = fields[..] else {
            return Err(bad("expected ACCESS:FLAGS:PRINCIPAL:PERMISSIONS"));
        };
        let access =
            AccessTypes::from_letters(access).ok_or_else(|| bad("unknown access type letter"))?;
        let flags = AceFlags::from_letters(flags).ok_or_else(|| bad("unknown flag letter"))?;
        if !principal_is_valid(principal) {
            return Err(bad("principal must look like name@[domain]"));
        }
        let principal = match principal {
            "OWNER@" => Principal::Owner,
            "GROUP@" => Principal::OwnerGroup,
            "EVERYONE@" => Principal::Everyone,
            name if flags.contains(AceFlags::GROUP) => Principal::Group(name.to_string()),
            name => Principal::User(name.to_string()),
        };
        let perms = Perms::from_letters(perms).ok_or_else(|| bad("unknown permission letter"))?;
        let ace = Ace {
            access,
            flags,
            principal,
            perms,
        };
        ace.check().map_err(bad)?;
        Ok(ace)
    }

    /// The consistency rules of `daos_ace_is_valid`.
    fn check(&self) -> std::result::Result<(), &'static str> {
        if self.access.is_empty() {
            return Err("no access type");
        }
        if self.principal.is_group() != self.flags.contains(AceFlags::GROUP) {
            return Err(
                "the G flag is required for GROUP@ and named groups, and allowed only there",
            );
        }
        let alert =
            self.access.contains(AccessTypes::AUDIT) || self.access.contains(AccessTypes::ALARM);
        let alert_flags = self.flags.contains(AceFlags::ACCESS_SUCCESS)
            || self.flags.contains(AceFlags::ACCESS_FAIL);
        if alert != alert_flags {
            return Err(
                "audit (U) and alarm (L) entries need the S or F flag, and only they may have it",
            );
        }
        Ok(())
    }

    /// The access types.
    pub fn access(&self) -> AccessTypes {
        self.access
    }

    /// The flags.
    pub fn flags(&self) -> AceFlags {
        self.flags
    }

    /// Who the entry applies to.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The permissions.
    pub fn perms(&self) -> Perms {
        self.perms
    }
}

impl fmt::Display for Ace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.access,
            self.flags,
            self.principal.as_str(),
            self.perms
        )
    }
}

impl std::str::FromStr for Ace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Ace> {
        Ace::parse(s)
    }
}

/// An access control list: at most one entry per principal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    aces: Vec<Ace>,
}

impl Acl {
    /// An empty ACL.
    pub fn new() -> Acl {
        Acl::default()
    }

    /// Parses ACE strings (as in a DAOS ACL file, without comments); `-DER_INVAL` on a bad
    /// entry or on two entries for the same principal.
    pub fn from_strs<S: AsRef<str>>(strs: &[S]) -> Result<Acl> {
        let mut acl = Acl::new();
        for s in strs {
            let ace = Ace::parse(s.as_ref())?;
            if acl.get(ace.principal()).is_some() {
                return Err(Error::invalid(
                    "Acl::from_strs",
                    format!("two entries for principal {:?}", ace.principal().as_str()),
                ));
            }
            acl.aces.push(ace);
        }
        Ok(acl)
    }

    /// The entries as strings, in order.
    pub fn to_strs(&self) -> Vec<String> {
        self.aces.iter().map(Ace::to_string).collect()
    }

    /// The entries.
    pub fn aces(&self) -> &[Ace] {
        &self.aces
    }

    /// The entry for `principal`, if any.
    pub fn get(&self, principal: &Principal) -> Option<&Ace> {
        self.aces.iter().find(|a| &a.principal == principal)
    }

    /// Adds an entry, replacing the one for the same principal.
    pub fn set(&mut self, ace: Ace) {
        match self.aces.iter_mut().find(|a| a.principal == ace.principal) {
            Some(slot) => *slot = ace,
            None => self.aces.push(ace),
        }
    }

    /// Removes the entry for `principal`; returns whether there was one.
    pub fn remove(&mut self, principal: &Principal) -> bool {
        let before = self.aces.len();
        self.aces.retain(|a| &a.principal != principal);
        before != self.aces.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.aces.is_empty()
    }

    /// Decodes the binary `struct daos_acl` (header + packed ACEs), as found in a property.
    ///
    /// Layout (`daos_security.h`): `u16 dal_ver; u16 dal_reserv; u32 dal_len; u8 dal_ace[]`;
    /// each ACE is `u8 access_types; u8 principal_type; u16 principal_len; u16 access_flags;
    /// u16 reserv; u64 allow; u64 audit; u64 alarm; char principal[principal_len]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Acl> {
        const OP: &str = "Acl::from_bytes";
        let bad = |why: &str| Error::invalid(OP, format!("malformed ACL: {why}"));
        let u16_at = |b: &[u8], i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let u64_at = |b: &[u8], i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(a)
        };
        if bytes.len() < 8 {
            return Err(bad("shorter than its header"));
        }
        let len = u32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let body = bytes
            .get(8..8 + len)
            .ok_or_else(|| bad("length beyond the buffer"))?;
        let mut acl = Acl::new();
        let mut at = 0;
        while at < body.len() {
            let ace = body
                .get(at..at + 32)
                .ok_or_else(|| bad("truncated entry"))?;
            let access =
                AccessTypes::from_bits(ace[0]).ok_or_else(|| bad("unknown access type"))?;
            let principal_len = u16_at(ace, 2) as usize;
            let flags = AceFlags::from_bits(u16_at(ace, 4)).ok_or_else(|| bad("unknown flag"))?;
            let name_bytes = body
                .get(at + 32..at + 32 + principal_len)
                .ok_or_else(|| bad("principal beyond the buffer"))?;
            let name_end = name_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name_bytes.len());
            let name = String::from_utf8_lossy(&name_bytes[..name_end]).into_owned();
            let principal = match ace[1] {
                0 => Principal::Owner,
                1 => Principal::User(name),
                2 => Principal::OwnerGroup,
                3 => Principal::Group(name),
                4 => Principal::Everyone,
                _ => return Err(bad("unknown principal type")),
            };
            // DAOS keeps one permission set per access type; the string form shows the first.
            let perms = if access.contains(AccessTypes::ALLOW) {
                u64_at(ace, 8)
            } else if access.contains(AccessTypes::AUDIT) {
                u64_at(ace, 16)
            } else {
                u64_at(ace, 24)
            };
            let perms = Perms::from_bits(perms).ok_or_else(|| bad("unknown permission bit"))?;
            acl.set(Ace {
                access,
                flags,
                principal,
                perms,
            });
            at += 32 + principal_len;
        }
        Ok(acl)
    }

    /// Builds the libdaos form with `daos_acl_from_strs`.
    pub(crate) fn to_raw(&self) -> Result<RawAcl> {
        use std::ffi::CString;
        let strs: Vec<CString> = self
            .to_strs()
            .into_iter()
            .map(|s| {
                CString::new(s).map_err(|e| {
                    let ace = String::from_utf8_lossy(&e.into_vec()).into_owned();
                    Error::invalid("Acl", format!("ACE {ace:?} contains a NUL byte"))
                })
            })
            .collect::<Result<_>>()?;
        let ptrs: Vec<*const libc::c_char> = strs.iter().map(|s| s.as_ptr()).collect();
        let mut raw: *mut daos_sys::daos_acl = std::ptr::null_mut();
        // SAFETY: `ptrs` holds `ptrs.len()` valid NUL-terminated strings that outlive the call;
        // `raw` is a valid out-pointer. libdaos only reads the strings.
        let rc =
            unsafe { daos_sys::daos_acl_from_strs(ptrs.as_ptr() as *mut _, ptrs.len(), &mut raw) };
        crate::error::check_rc("daos_acl_from_strs", rc)?;
        if raw.is_null() {
            return Err(Error::from_der("daos_acl_from_strs", crate::Der::Nomem));
        }
        Ok(RawAcl(raw))
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_strs().join(", "))
    }
}

/// An owned `struct daos_acl *`, freed with `daos_acl_free`.
pub(crate) struct RawAcl(*mut daos_sys::daos_acl);

impl RawAcl {
    pub(crate) fn as_ptr(&self) -> *mut daos_sys::daos_acl {
        self.0
    }

    /// Size of the whole structure (header + entries), for copying it into a property.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: `self.0` is a valid ACL allocated by libdaos; its header is readable.
        let len = unsafe { (*self.0).dal_len } as usize;
        std::mem::size_of::<daos_sys::daos_acl>() + len
    }
}

impl Drop for RawAcl {
    fn drop(&mut self) {
        // SAFETY: allocated by `daos_acl_from_strs`, freed exactly once here.
        unsafe { daos_sys::daos_acl_free(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        for s in [
            "A::OWNER@:rwdtTaAo",
            "A:G:GROUP@:rwtT",
            "A::EVERYONE@:r",
            "A::bob@:rw",
            "A:G:devs@example.com:r",
            "A::1000@:",
            "AU:S:bob@:rw",
            "L:GF:devs@:w",
        ] {
            let ace = Ace::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(ace.to_string(), s);
        }
    }

    #[test]
    fn canonical_letter_order() {
        let ace = Ace::parse("A::bob@:wr").unwrap();
        assert_eq!(ace.to_string(), "A::bob@:rw");
        assert_eq!(ace.perms(), Perms::READ | Perms::WRITE);
    }

    #[test]
    fn principal_kinds() {
        assert_eq!(
            Ace::parse("A:G:devs@:r").unwrap().principal(),
            &Principal::Group("devs@".into())
        );
        assert_eq!(
            Ace::parse("A::devs@:r").unwrap().principal(),
            &Principal::User("devs@".into())
        );
        assert_eq!(
            Ace::parse("A::OWNER@:r").unwrap().principal(),
            &Principal::Owner
        );
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "A::bob@",
            "A::bob@:rw:x",
            "X::bob@:r",
            "A:X:bob@:r",
            "A::bob@:rz",
            "A::bob:r",
            "A::@x:r",
            "A::a@b@c:r",
            ":bob@:r",
            "::bob@:r",
            "A::GROUP@:r",
            "A:G:OWNER@:r",
            "A:G:EVERYONE@:r",
            "A:S:bob@:r",
            "U::bob@:r",
        ] {
            let err = Ace::parse(s).expect_err(s);
            assert!(err.is_invalid(), "{s}");
        }
        let long = format!("A::{}@:r", "x".repeat(MAX_PRINCIPAL_LEN));
        assert!(Ace::parse(&long).is_err());
    }

    #[test]
    fn duplicates_rejected() {
        let err = Acl::from_strs(&["A::bob@:r", "A::bob@:w"]).unwrap_err();
        assert!(err.is_invalid());
        // A user and a group of the same name are different principals.
        assert!(Acl::from_strs(&["A::bob@:r", "A:G:bob@:w"]).is_ok());
    }

    #[test]
    fn set_and_remove() {
        let mut acl = Acl::from_strs(&["A::OWNER@:rw"]).unwrap();
        acl.set(Ace::allow(Principal::Owner, Perms::READ));
        acl.set(Ace::allow(Principal::Group("g@".into()), Perms::ALL));
        assert_eq!(acl.to_strs(), vec!["A::OWNER@:r", "A:G:g@:rwcdtTaAo"]);
        assert!(acl.remove(&Principal::Owner));
        assert!(!acl.remove(&Principal::Owner));
    }

    fn ace_bytes(access: u8, ptype: u8, flags: u16, perms: u64, name: &str) -> Vec<u8> {
        let mut principal = name.as_bytes().to_vec();
        if !principal.is_empty() {
            principal.push(0);
            while !principal.len().is_multiple_of(8) {
                principal.push(0);
            }
        }
        let mut b = vec![access, ptype];
        b.extend((principal.len() as u16).to_ne_bytes());
        b.extend(flags.to_ne_bytes());
        b.extend(0u16.to_ne_bytes());
        b.extend(perms.to_ne_bytes());
        b.extend(0u64.to_ne_bytes());
        b.extend(0u64.to_ne_bytes());
        b.extend(principal);
        b
    }

    #[test]
    fn binary_decoding() {
        let mut body = ace_bytes(1, 0, 0, 0x1ff & !4, "");
        body.extend(ace_bytes(1, 3, 1, 1 | 2, "devs@"));
        let mut acl = vec![];
        acl.extend(1u16.to_ne_bytes());
        acl.extend(0u16.to_ne_bytes());
        acl.extend((body.len() as u32).to_ne_bytes());
        acl.extend(&body);
        let decoded = Acl::from_bytes(&acl).unwrap();
        assert_eq!(
            decoded.to_strs(),
            vec!["A::OWNER@:rwdtTaAo", "A:G:devs@:rw"]
        );
        assert!(Acl::from_bytes(&acl[..acl.len() - 1]).is_err());
        assert!(Acl::from_bytes(&[1, 0]).is_err());
    }
}
