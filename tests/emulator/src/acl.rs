//! Access control lists: the packed binary form of `struct daos_acl` / `struct daos_ace`, the
//! string form (`A::OWNER@:rwdtTaAo`), validation and the permission check.
//!
//! Mirrors `src/common/acl_api.c`, `acl_util.c`, `acl_principal.c` and the default ACLs of
//! `src/security/srv_acl.c` (daos-stack/daos v2.8.0).

use crate::der::{Der, DerResult};

/// `DAOS_ACL_VERSION`.
pub const ACL_VERSION: u16 = 1;
/// `DAOS_ACL_MAX_ACE_LEN`.
pub const MAX_ACE_LEN: usize = 65536;
/// `DAOS_ACL_MAX_PRINCIPAL_LEN`.
pub const MAX_PRINCIPAL_LEN: usize = 255;
/// Longest ACE string (`DAOS_ACL_MAX_ACE_STR_LEN`).
pub const MAX_ACE_STR_LEN: usize = MAX_PRINCIPAL_LEN + 64;
/// Size of the fixed part of an ACE.
pub const ACE_HEADER: usize = 32;
/// Size of the fixed part of an ACL.
pub const ACL_HEADER: usize = 8;

/// Principal types (`enum daos_acl_principal_type`), in priority order.
pub mod principal {
    /// `OWNER@`.
    pub const OWNER: u8 = 0;
    /// A named user.
    pub const USER: u8 = 1;
    /// `GROUP@`.
    pub const OWNER_GROUP: u8 = 2;
    /// A named group.
    pub const GROUP: u8 = 3;
    /// `EVERYONE@`.
    pub const EVERYONE: u8 = 4;
}

/// Access types.
pub const ACCESS_ALLOW: u8 = 1;
/// Audit access type.
pub const ACCESS_AUDIT: u8 = 2;
/// Alarm access type.
pub const ACCESS_ALARM: u8 = 4;
const ACCESS_ALL: u8 = 7;

/// Flags.
pub const FLAG_GROUP: u16 = 1;
/// Pool-inherit flag.
pub const FLAG_POOL_INHERIT: u16 = 2;
/// Access-fail flag.
pub const FLAG_ACCESS_FAIL: u16 = 4;
/// Access-success flag.
pub const FLAG_ACCESS_SUCCESS: u16 = 8;
const FLAG_ALL: u16 = 15;

/// Permission bits.
pub mod perm {
    /// r
    pub const READ: u64 = 1;
    /// w
    pub const WRITE: u64 = 2;
    /// c
    pub const CREATE_CONT: u64 = 4;
    /// d
    pub const DEL_CONT: u64 = 8;
    /// t
    pub const GET_PROP: u64 = 16;
    /// T
    pub const SET_PROP: u64 = 32;
    /// a
    pub const GET_ACL: u64 = 64;
    /// A
    pub const SET_ACL: u64 = 128;
    /// o
    pub const SET_OWNER: u64 = 256;
    /// Every bit a pool ACE may carry.
    pub const POOL_ALL: u64 = 511;
    /// Every bit a container ACE may carry.
    pub const CONT_ALL: u64 = 507;
}

const PERM_LETTERS: [(char, u64); 9] = [
    ('r', perm::READ),
    ('w', perm::WRITE),
    ('c', perm::CREATE_CONT),
    ('d', perm::DEL_CONT),
    ('t', perm::GET_PROP),
    ('T', perm::SET_PROP),
    ('a', perm::GET_ACL),
    ('A', perm::SET_ACL),
    ('o', perm::SET_OWNER),
];

/// One access control entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    /// Access type bits.
    pub access_types: u8,
    /// Principal type.
    pub principal_type: u8,
    /// Flag bits.
    pub flags: u16,
    /// Allowed permissions.
    pub allow: u64,
    /// Audited permissions.
    pub audit: u64,
    /// Alarmed permissions.
    pub alarm: u64,
    /// Name for USER and GROUP entries.
    pub name: Option<String>,
}

/// `daos_acl_principal_is_valid`: `name@[domain]`, 1..=255 characters, one `@`.
pub fn principal_is_valid(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_PRINCIPAL_LEN || name.contains('\0') {
        return false;
    }
    match name.split_once('@') {
        Some((user, domain)) => !user.is_empty() && !domain.contains('@'),
        None => false,
    }
}

fn needs_name(t: u8) -> bool {
    t == principal::USER || t == principal::GROUP
}

fn is_group(t: u8) -> bool {
    t == principal::GROUP || t == principal::OWNER_GROUP
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

impl Ace {
    /// `daos_ace_create`: an empty entry for a principal.
    pub fn new(principal_type: u8, name: Option<&str>) -> Option<Ace> {
        if principal_type > principal::EVERYONE {
            return None;
        }
        let name = if needs_name(principal_type) {
            Some(name.filter(|n| !n.is_empty())?.to_string())
        } else {
            None
        };
        Some(Ace {
            access_types: 0,
            principal_type,
            flags: if is_group(principal_type) {
                FLAG_GROUP
            } else {
                0
            },
            allow: 0,
            audit: 0,
            alarm: 0,
            name,
        })
    }

    fn principal_len(&self) -> usize {
        self.name.as_ref().map(|n| align8(n.len() + 1)).unwrap_or(0)
    }

    /// Size of the packed entry (`daos_ace_get_size`).
    pub fn size(&self) -> usize {
        ACE_HEADER + self.principal_len()
    }

    /// `daos_ace_is_valid`.
    pub fn is_valid(&self) -> bool {
        let perms_ok = |p: u64| p & !perm::POOL_ALL == 0;
        if self.access_types & !ACCESS_ALL != 0 || self.access_types == 0 {
            return false;
        }
        if self.flags & !FLAG_ALL != 0 || self.principal_type > principal::EVERYONE {
            return false;
        }
        if !perms_ok(self.allow) || !perms_ok(self.audit) || !perms_ok(self.alarm) {
            return false;
        }
        if needs_name(self.principal_type) != self.name.is_some() {
            return false;
        }
        if is_group(self.principal_type) != (self.flags & FLAG_GROUP != 0) {
            return false;
        }
        if let Some(n) = &self.name
            && !principal_is_valid(n)
        {
            return false;
        }
        let matches = |bit: u8, p: u64| self.access_types & bit != 0 || p == 0;
        if !matches(ACCESS_ALLOW, self.allow)
            || !matches(ACCESS_AUDIT, self.audit)
            || !matches(ACCESS_ALARM, self.alarm)
        {
            return false;
        }
        let alert_type = self.access_types & (ACCESS_AUDIT | ACCESS_ALARM) != 0;
        let alert_flags = self.flags & (FLAG_ACCESS_FAIL | FLAG_ACCESS_SUCCESS) != 0;
        alert_type == alert_flags
    }

    /// The principal as written in strings: `OWNER@`, `GROUP@`, `EVERYONE@` or the name.
    pub fn principal_str(&self) -> &str {
        match self.principal_type {
            principal::OWNER => "OWNER@",
            principal::OWNER_GROUP => "GROUP@",
            principal::EVERYONE => "EVERYONE@",
            _ => self.name.as_deref().unwrap_or(""),
        }
    }

    /// `daos_ace_from_str`.
    pub fn from_ace_str(s: &str) -> DerResult<Ace> {
        if s.len() > MAX_ACE_STR_LEN {
            return Err(Der::INVAL);
        }
        let fields: Vec<&str> = s.split(':').collect();
        if fields.len() != 4 {
            return Err(Der::INVAL);
        }
        let mut access_types = 0u8;
        for c in fields[0].chars() {
            access_types |= match c {
                'A' => ACCESS_ALLOW,
                'U' => ACCESS_AUDIT,
                'L' => ACCESS_ALARM,
                _ => return Err(Der::INVAL),
            };
        }
        let mut flags = 0u16;
        for c in fields[1].chars() {
            flags |= match c {
                'G' => FLAG_GROUP,
                'S' => FLAG_ACCESS_SUCCESS,
                'F' => FLAG_ACCESS_FAIL,
                'P' => FLAG_POOL_INHERIT,
                _ => return Err(Der::INVAL),
            };
        }
        let who = fields[2];
        if !principal_is_valid(who) {
            return Err(Der::INVAL);
        }
        let ptype = match who {
            "OWNER@" => principal::OWNER,
            "GROUP@" => principal::OWNER_GROUP,
            "EVERYONE@" => principal::EVERYONE,
            _ if flags & FLAG_GROUP != 0 => principal::GROUP,
            _ => principal::USER,
        };
        let mut perms = 0u64;
        for c in fields[3].chars() {
            perms |= PERM_LETTERS
                .iter()
                .find(|(l, _)| *l == c)
                .ok_or(Der::INVAL)?
                .1;
        }
        let mut ace = Ace::new(ptype, Some(who)).ok_or(Der::INVAL)?;
        ace.flags = flags;
        ace.access_types = access_types;
        if access_types & ACCESS_ALLOW != 0 {
            ace.allow = perms;
        }
        if access_types & ACCESS_AUDIT != 0 {
            ace.audit = perms;
        }
        if access_types & ACCESS_ALARM != 0 {
            ace.alarm = perms;
        }
        if !ace.is_valid() {
            return Err(Der::INVAL);
        }
        Ok(ace)
    }

    /// `daos_ace_to_str`.
    pub fn to_string_checked(&self) -> DerResult<String> {
        if !self.is_valid() {
            return Err(Der::INVAL);
        }
        let union = self.allow | self.audit | self.alarm;
        let unified = [
            (ACCESS_ALLOW, self.allow),
            (ACCESS_AUDIT, self.audit),
            (ACCESS_ALARM, self.alarm),
        ]
        .iter()
        .all(|(bit, p)| self.access_types & bit == 0 || *p == union);
        if !unified {
            return Err(Der::INVAL);
        }
        let mut s = String::new();
        for (bit, c) in [
            (ACCESS_ALLOW, 'A'),
            (ACCESS_AUDIT, 'U'),
            (ACCESS_ALARM, 'L'),
        ] {
            if self.access_types & bit != 0 {
                s.push(c);
            }
        }
        s.push(':');
        for (bit, c) in [
            (FLAG_GROUP, 'G'),
            (FLAG_ACCESS_SUCCESS, 'S'),
            (FLAG_ACCESS_FAIL, 'F'),
            (FLAG_POOL_INHERIT, 'P'),
        ] {
            if self.flags & bit != 0 {
                s.push(c);
            }
        }
        s.push(':');
        s.push_str(self.principal_str());
        s.push(':');
        let perms = if self.access_types & ACCESS_ALLOW != 0 {
            self.allow
        } else if self.access_types & ACCESS_AUDIT != 0 {
            self.audit
        } else {
            self.alarm
        };
        for (c, bit) in PERM_LETTERS {
            if perms & bit != 0 {
                s.push(c);
            }
        }
        Ok(s)
    }

    /// Appends the packed form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(self.access_types);
        out.push(self.principal_type);
        out.extend_from_slice(&(self.principal_len() as u16).to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&0u16.to_ne_bytes());
        out.extend_from_slice(&self.allow.to_ne_bytes());
        out.extend_from_slice(&self.audit.to_ne_bytes());
        out.extend_from_slice(&self.alarm.to_ne_bytes());
        if let Some(n) = &self.name {
            let start = out.len();
            out.extend_from_slice(n.as_bytes());
            out.resize(start + self.principal_len(), 0);
        }
    }

    /// Parses one packed entry at the start of `b`; returns it and its size. Structural
    /// problems (truncation, missing NUL) are errors; semantic validity is left to the caller.
    pub fn parse(b: &[u8]) -> DerResult<(Ace, usize)> {
        if b.len() < ACE_HEADER {
            return Err(Der::INVAL);
        }
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(a)
        };
        let plen = u16_at(2) as usize;
        if b.len() < ACE_HEADER + plen {
            return Err(Der::INVAL);
        }
        let name = if plen > 0 {
            let raw = &b[ACE_HEADER..ACE_HEADER + plen];
            let end = raw.iter().position(|c| *c == 0).ok_or(Der::INVAL)?;
            Some(String::from_utf8(raw[..end].to_vec()).map_err(|_| Der::INVAL)?)
        } else {
            None
        };
        let ace = Ace {
            access_types: b[0],
            principal_type: b[1],
            flags: u16_at(4),
            allow: u64_at(8),
            audit: u64_at(16),
            alarm: u64_at(24),
            name,
        };
        // A principal buffer of the wrong padded length does not round-trip: invalid.
        if !plen.is_multiple_of(8) || (ace.name.is_some() && ace.principal_len() != plen) {
            return Err(Der::INVAL);
        }
        Ok((ace, ACE_HEADER + plen))
    }

    fn same_principal(&self, other: &Ace) -> bool {
        self.principal_type == other.principal_type && self.name == other.name
    }
}

/// An ACL: entries kept in principal-type order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    /// The entries.
    pub aces: Vec<Ace>,
}

impl Acl {
    /// `daos_acl_create`: the entries sorted by principal type (stable).
    pub fn new(mut aces: Vec<Ace>) -> Acl {
        aces.sort_by_key(|a| a.principal_type);
        Acl { aces }
    }

    /// `daos_acl_from_strs`.
    pub fn from_strs<S: AsRef<str>>(strs: &[S]) -> DerResult<Acl> {
        if strs.is_empty() {
            return Err(Der::INVAL);
        }
        let aces = strs
            .iter()
            .map(|s| Ace::from_ace_str(s.as_ref()))
            .collect::<DerResult<Vec<_>>>()?;
        let acl = Acl::new(aces);
        acl.validate()?;
        Ok(acl)
    }

    /// `daos_acl_to_strs`.
    pub fn to_strs(&self) -> DerResult<Vec<String>> {
        self.validate()?;
        self.aces.iter().map(Ace::to_string_checked).collect()
    }

    /// Total length of the packed entries (`dal_len`).
    pub fn ace_len(&self) -> usize {
        self.aces.iter().map(Ace::size).sum()
    }

    /// The packed `struct daos_acl`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ACL_HEADER + self.ace_len());
        out.extend_from_slice(&ACL_VERSION.to_ne_bytes());
        out.extend_from_slice(&0u16.to_ne_bytes());
        out.extend_from_slice(&(self.ace_len() as u32).to_ne_bytes());
        for a in &self.aces {
            a.write_to(&mut out);
        }
        out
    }

    /// Reads a packed ACL header: (version, dal_len).
    pub fn header(b: &[u8]) -> Option<(u16, u32)> {
        if b.len() < ACL_HEADER {
            return None;
        }
        Some((
            u16::from_ne_bytes([b[0], b[1]]),
            u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// Parses and validates a packed ACL (`daos_acl_validate`).
    pub fn from_bytes(b: &[u8]) -> DerResult<Acl> {
        let (ver, len) = Acl::header(b).ok_or(Der::INVAL)?;
        let len = len as usize;
        if ver != ACL_VERSION {
            return Err(Der::INVAL);
        }
        if len > 0 && !(ACE_HEADER..=MAX_ACE_LEN).contains(&len) {
            return Err(Der::INVAL);
        }
        if !len.is_multiple_of(8) || b.len() < ACL_HEADER + len {
            return Err(Der::INVAL);
        }
        let mut rest = &b[ACL_HEADER..ACL_HEADER + len];
        let mut aces = Vec::new();
        while !rest.is_empty() {
            let (ace, size) = Ace::parse(rest)?;
            aces.push(ace);
            rest = &rest[size..];
        }
        let acl = Acl { aces };
        acl.validate()?;
        Ok(acl)
    }

    /// `daos_acl_validate` on the parsed form: valid entries, in type order, no duplicates.
    pub fn validate(&self) -> DerResult<()> {
        if self.ace_len() > MAX_ACE_LEN {
            return Err(Der::INVAL);
        }
        let mut last = 0u8;
        for (i, a) in self.aces.iter().enumerate() {
            if !a.is_valid() || a.principal_type < last {
                return Err(Der::INVAL);
            }
            if self.aces[..i].iter().any(|b| b.same_principal(a)) {
                return Err(Der::INVAL);
            }
            last = a.principal_type;
        }
        Ok(())
    }

    /// Validation plus a permission mask (`daos_acl_cont_validate` / `_pool_validate`).
    pub fn validate_perms(&self, valid: u64) -> DerResult<()> {
        self.validate()?;
        if self
            .aces
            .iter()
            .any(|a| (a.allow | a.audit | a.alarm) & !valid != 0)
        {
            return Err(Der::INVAL);
        }
        Ok(())
    }

    /// `daos_acl_add_ace`: replaces the entry of the same principal, or inserts in order.
    pub fn add(&mut self, ace: Ace) {
        if let Some(slot) = self.aces.iter_mut().find(|a| a.same_principal(&ace)) {
            *slot = ace;
            return;
        }
        let pos = self
            .aces
            .iter()
            .position(|a| a.principal_type > ace.principal_type)
            .unwrap_or(self.aces.len());
        self.aces.insert(pos, ace);
    }

    /// `daos_acl_remove_ace`.
    pub fn remove(&mut self, principal_type: u8, name: Option<&str>) -> DerResult<()> {
        if principal_type > principal::EVERYONE
            || (needs_name(principal_type) && name.is_none_or(str::is_empty))
        {
            return Err(Der::INVAL);
        }
        let before = self.aces.len();
        self.aces.retain(|a| {
            !(a.principal_type == principal_type
                && (!needs_name(principal_type) || a.name.as_deref() == name))
        });
        if self.aces.len() == before {
            Err(Der::NONEXIST)
        } else {
            Ok(())
        }
    }

    /// The entry of a principal (`daos_acl_get_ace_for_principal`).
    pub fn find(&self, principal_type: u8, name: Option<&str>) -> Option<&Ace> {
        self.aces.iter().find(|a| {
            a.principal_type == principal_type
                && (!needs_name(principal_type) || a.name.as_deref() == name)
        })
    }

    /// The default container ACL: `A::OWNER@:rwdtTaAo`, `A:G:GROUP@:rwtT`.
    pub fn default_container() -> Acl {
        let owner = Ace {
            access_types: ACCESS_ALLOW,
            allow: perm::CONT_ALL,
            ..Ace::new(principal::OWNER, None).unwrap_or_else(unreachable_ace)
        };
        let group = Ace {
            access_types: ACCESS_ALLOW,
            allow: perm::READ | perm::WRITE | perm::GET_PROP | perm::SET_PROP,
            ..Ace::new(principal::OWNER_GROUP, None).unwrap_or_else(unreachable_ace)
        };
        Acl::new(vec![owner, group])
    }

    /// The default pool ACL dmg gives a new pool: `A::OWNER@:rw`, `A:G:GROUP@:rw`.
    pub fn default_pool() -> Acl {
        let rw = perm::READ | perm::WRITE;
        let owner = Ace {
            access_types: ACCESS_ALLOW,
            allow: rw,
            ..Ace::new(principal::OWNER, None).unwrap_or_else(unreachable_ace)
        };
        let group = Ace {
            access_types: ACCESS_ALLOW,
            allow: rw,
            ..Ace::new(principal::OWNER_GROUP, None).unwrap_or_else(unreachable_ace)
        };
        Acl::new(vec![owner, group])
    }

    /// The permissions an identity gets: its owner entry if it owns the object, else its user
    /// entry, else the union of its group entries, else `EVERYONE@`, else nothing. The owner
    /// always keeps `min_owner`.
    pub fn permissions(
        &self,
        who: &Identity,
        owner: &str,
        owner_group: &str,
        min_owner: u64,
    ) -> u64 {
        let is_owner = who.user == owner;
        let allow = |a: &Ace| {
            if a.access_types & ACCESS_ALLOW != 0 {
                a.allow
            } else {
                0
            }
        };
        if is_owner && let Some(a) = self.find(principal::OWNER, None) {
            return allow(a) | min_owner;
        }
        if let Some(a) = self.find(principal::USER, Some(&who.user)) {
            return allow(a) | if is_owner { min_owner } else { 0 };
        }
        let mut groups = None::<u64>;
        for g in &who.groups {
            let mut hit = None;
            if g == owner_group {
                hit = self.find(principal::OWNER_GROUP, None).map(allow);
            }
            if let Some(a) = self.find(principal::GROUP, Some(g)) {
                hit = Some(hit.unwrap_or(0) | allow(a));
            }
            if let Some(h) = hit {
                groups = Some(groups.unwrap_or(0) | h);
            }
        }
        let owner_bits = if is_owner { min_owner } else { 0 };
        if let Some(g) = groups {
            return g | owner_bits;
        }
        self.find(principal::EVERYONE, None).map(allow).unwrap_or(0) | owner_bits
    }
}

fn unreachable_ace() -> Ace {
    Ace {
        access_types: 0,
        principal_type: principal::EVERYONE,
        flags: 0,
        allow: 0,
        audit: 0,
        alarm: 0,
        name: None,
    }
}

/// Who is asking: principal names of a user and all of its groups (`name@`).
#[derive(Clone, Debug)]
pub struct Identity {
    /// `user@`.
    pub user: String,
    /// `group@` for the primary and every supplementary group.
    pub groups: Vec<String>,
}

impl Identity {
    /// This process's effective identity, as the agent would vouch for it.
    pub fn current() -> DerResult<Identity> {
        let (uid, gid) = crate::fsutil::euid_egid();
        let user = crate::fsutil::user_name(uid).ok_or(Der::NONEXIST)? + "@";
        let mut groups = vec![crate::fsutil::group_name(gid).ok_or(Der::NONEXIST)? + "@"];
        // SAFETY: getgroups with a zero-sized query, then with a buffer of the reported size.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if n > 0 {
            let mut gids = vec![0 as libc::gid_t; n as usize];
            // SAFETY: gids has room for n entries.
            let n = unsafe { libc::getgroups(n, gids.as_mut_ptr()) };
            for g in gids.into_iter().take(n.max(0) as usize) {
                if let Some(name) = crate::fsutil::group_name(g) {
                    let p = name + "@";
                    if !groups.contains(&p) {
                        groups.push(p);
                    }
                }
            }
        }
        Ok(Identity { user, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip() {
        for s in [
            "A::OWNER@:rwdtTaAo",
            "A:G:GROUP@:rwtT",
            "A::bob@:rw",
            "A:G:devs@:r",
            "A::EVERYONE@:r",
            "AU:S:carol@:rw",
        ] {
            let ace = Ace::from_ace_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(ace.to_string_checked().unwrap(), s);
        }
    }

    #[test]
    fn invalid_strings() {
        for s in [
            "",
            "A::bob:rw",
            "X::bob@:rw",
            "A::bob@:rwz",
            "A:G:OWNER@:rw",
            "A::GROUP@:rw",
            "U::bob@:r",
            "A::bob@",
            "A::b@b@:r",
        ] {
            assert_eq!(Ace::from_ace_str(s), Err(Der::INVAL), "{s}");
        }
        // Syntactically a principal: "1000@".
        assert!(Ace::from_ace_str("A::1000@:r").is_ok());
    }

    #[test]
    fn binary_round_trip_and_order() {
        let acl = Acl::from_strs(&[
            "A::EVERYONE@:r",
            "A::OWNER@:rw",
            "A:G:devs@:rw",
            "A::bob@:r",
        ])
        .unwrap();
        let types: Vec<u8> = acl.aces.iter().map(|a| a.principal_type).collect();
        assert_eq!(types, vec![0, 1, 3, 4]);
        let bytes = acl.to_bytes();
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(Acl::from_bytes(&bytes).unwrap(), acl);
        // "bob@" takes 8 bytes of principal, "devs@" too.
        assert_eq!(acl.ace_len(), 4 * 32 + 8 + 8);
    }

    #[test]
    fn duplicates_and_bad_versions_are_invalid() {
        assert_eq!(Acl::from_strs(&["A::bob@:r", "A::bob@:w"]), Err(Der::INVAL));
        let mut bytes = Acl::default_container().to_bytes();
        bytes[0] = 2;
        assert_eq!(Acl::from_bytes(&bytes), Err(Der::INVAL));
    }

    #[test]
    fn add_replaces_same_principal_and_remove_reports_missing() {
        let mut acl = Acl::default_container();
        acl.add(Ace::from_ace_str("A::bob@:r").unwrap());
        acl.add(Ace::from_ace_str("A::bob@:rw").unwrap());
        assert_eq!(acl.aces.len(), 3);
        assert_eq!(
            acl.find(principal::USER, Some("bob@")).unwrap().allow,
            perm::READ | perm::WRITE
        );
        assert_eq!(
            acl.aces[1].principal_type,
            principal::USER,
            "inserted in type order"
        );
        acl.remove(principal::USER, Some("bob@")).unwrap();
        assert_eq!(
            acl.remove(principal::USER, Some("bob@")),
            Err(Der::NONEXIST)
        );
        assert_eq!(acl.remove(principal::USER, None), Err(Der::INVAL));
    }

    #[test]
    fn permission_resolution() {
        let acl = Acl::from_strs(&[
            "A::OWNER@:rw",
            "A::bob@:r",
            "A:G:GROUP@:t",
            "A:G:devs@:w",
            "A::EVERYONE@:c",
        ])
        .unwrap();
        let id = |u: &str, g: &[&str]| Identity {
            user: u.into(),
            groups: g.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            acl.permissions(&id("root@", &["root@"]), "root@", "root@", 0),
            perm::READ | perm::WRITE
        );
        assert_eq!(
            acl.permissions(&id("bob@", &["devs@"]), "root@", "root@", 0),
            perm::READ
        );
        assert_eq!(
            acl.permissions(&id("eve@", &["devs@", "root@"]), "root@", "root@", 0),
            perm::WRITE | perm::GET_PROP
        );
        assert_eq!(
            acl.permissions(&id("eve@", &["other@"]), "root@", "root@", 0),
            perm::CREATE_CONT
        );
        let min = perm::GET_ACL | perm::SET_ACL;
        assert_eq!(
            Acl::default().permissions(&id("root@", &[]), "root@", "g@", min),
            min
        );
    }
}
