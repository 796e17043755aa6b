//! Volume identity and parameters, validated once into typed values.
//!
//! - [`VolumeId`]: `<system>/<pool-uuid>/<container-uuid>` for volumes this
//!   driver creates; `[system/]pool/container` (labels or UUIDs) for static
//!   volumes an admin names in a PV.
//! - [`CreateParams`]: StorageClass parameters of CreateVolume.
//! - [`DfuseOptions`]: how a node runs dfuse, carried in the volume context.
//! - [`EphemeralSpec`]: `volumeAttributes` of a CSI inline ephemeral volume.
//! - [`ListToken`]: ListVolumes pagination.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use sha2::{Digest, Sha256};
use tonic::Status;
use uuid::Uuid;

use csi_proto::csi::v1::{CapacityRange, VolumeCapability, volume_capability};

/// libdaos' name for the system when none is given (`DAOS_DEFAULT_SYS_NAME`).
pub const DEFAULT_SYSTEM: &str = "daos_server";
/// `DAOS_SYS_NAME_MAX`.
const SYSTEM_NAME_MAX: usize = 15;

/// Parameter keys the external-provisioner adds; they are not ours to judge.
const PROVISIONER_PREFIX: &str = "csi.storage.k8s.io/";

// Volume context keys (what a node gets back on stage/publish).
pub const CTX_SYSTEM: &str = "system";
pub const CTX_POOL: &str = "pool";
pub const CTX_POOL_UUID: &str = "poolUUID";
pub const CTX_CONTAINER: &str = "container";
pub const CTX_CONTAINER_UUID: &str = "containerUUID";
pub const CTX_DFUSE_CACHING: &str = "dfuseCaching";
pub const CTX_DFUSE_WB_CACHE: &str = "dfuseWriteBackCache";
pub const CTX_DFUSE_THREADS: &str = "dfuseThreadCount";
pub const CTX_DFUSE_EQS: &str = "dfuseEqCount";
pub const CTX_DFUSE_MULTI_USER: &str = "dfuseMultiUser";
/// Set by kubelet on CSI inline ephemeral volumes.
pub const CTX_EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";

const DFUSE_KEYS: [&str; 5] = [
    CTX_DFUSE_CACHING,
    CTX_DFUSE_WB_CACHE,
    CTX_DFUSE_THREADS,
    CTX_DFUSE_EQS,
    CTX_DFUSE_MULTI_USER,
];

fn invalid(msg: impl Into<String>) -> Status {
    Status::invalid_argument(msg.into())
}

/// A pool or container reference: a DAOS label or a UUID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityName {
    Label(String),
    Uuid(Uuid),
}

impl EntityName {
    pub fn parse(s: &str) -> Result<EntityName, String> {
        if daos::label::is_uuid_string(s) {
            return Uuid::parse_str(s)
                .map(EntityName::Uuid)
                .map_err(|e| format!("{s:?} is not a UUID: {e}"));
        }
        if daos::label::is_valid(s) {
            Ok(EntityName::Label(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is neither a UUID nor a DAOS label (1-127 characters of [A-Za-z0-9._:-])"
            ))
        }
    }

    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            EntityName::Uuid(u) => Some(*u),
            EntityName::Label(_) => None,
        }
    }
}

impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityName::Label(l) => f.write_str(l),
            EntityName::Uuid(u) => write!(f, "{}", u.hyphenated()),
        }
    }
}

/// A DAOS system name (what `--sys-name` / `daos_pool_connect(sys)` take).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemName(String);

impl SystemName {
    pub fn parse(s: &str) -> Result<SystemName, String> {
        let ok = !s.is_empty()
            && s.len() <= SYSTEM_NAME_MAX
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
        if ok {
            Ok(SystemName(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a DAOS system name (1-{SYSTEM_NAME_MAX} characters of [A-Za-z0-9_.-])"
            ))
        }
    }

    pub fn default_system() -> SystemName {
        SystemName(DEFAULT_SYSTEM.to_string())
    }

    /// `None` stands for "the default system": libdaos and dfuse are then
    /// given no system name at all, which is what they treat as `daos_server`.
    pub fn for_daos(&self) -> Option<&str> {
        (self.0 != DEFAULT_SYSTEM).then_some(self.0.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a volume id names: one container in one pool of one DAOS system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeId {
    pub system: SystemName,
    pub pool: EntityName,
    pub container: EntityName,
    raw: String,
}

impl VolumeId {
    /// The id of a container this driver created.
    pub fn new(system: SystemName, pool: Uuid, container: Uuid) -> VolumeId {
        let raw = format!(
            "{}/{}/{}",
            system,
            pool.hyphenated(),
            container.hyphenated()
        );
        VolumeId {
            system,
            pool: EntityName::Uuid(pool),
            container: EntityName::Uuid(container),
            raw,
        }
    }

    /// Parses `[system/]pool/container`; a missing system is `default`.
    pub fn parse(s: &str, default: &SystemName) -> Result<VolumeId, Status> {
        let bad = |why: String| {
            invalid(format!(
                "volume_id {s:?}: {why}; expected [system/]pool/container"
            ))
        };
        let parts: Vec<&str> = s.split('/').collect();
        let (system, pool, container) = match parts.as_slice() {
            [pool, container] => (default.clone(), *pool, *container),
            [system, pool, container] => {
                (SystemName::parse(system).map_err(&bad)?, *pool, *container)
            }
            _ => return Err(bad("wrong number of '/'-separated parts".into())),
        };
        Ok(VolumeId {
            system,
            pool: EntityName::parse(pool).map_err(&bad)?,
            container: EntityName::parse(container).map_err(&bad)?,
            raw: s.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for VolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The container label for a CSI volume name: the name itself when DAOS
/// accepts it as a label, else `csi-` + 32 hex digits of its SHA-256. The
/// same name always gives the same label, so a retried CreateVolume finds
/// the container it made before. Names that look like the labels of
/// containers being created (`csi-creating-*`) are hashed too, so a finished
/// volume never carries one.
pub fn container_label_for(name: &str) -> String {
    if daos::label::is_valid(name)
        && name != daos::label::CONTAINER_LABEL_NOT_SET
        && !crate::containers::is_staging_label(name)
    {
        name.to_string()
    } else {
        format!("csi-{}", &sha256_hex(name.as_bytes())[..32])
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_bool(key: &str, v: &str) -> Result<bool, Status> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(invalid(format!(
            "{key}={v:?}: expected on/off or true/false"
        ))),
    }
}

fn parse_count(key: &str, v: &str, max: u32) -> Result<u32, Status> {
    match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "{key}={v:?}: expected a whole number from 1 to {max}"
        ))),
    }
}

fn parse_id(key: &str, v: &str) -> Result<u32, Status> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n != u32::MAX)
        .ok_or_else(|| invalid(format!("{key}={v:?}: expected a numeric uid/gid")))
}

/// Largest dfuse thread/EQ count accepted (far above useful values).
const MAX_DFUSE_THREADS: u32 = 1024;

/// How a node runs dfuse for a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfuseOptions {
    /// `--enable-caching` / `--disable-caching`; `None` leaves dfuse's default.
    pub caching: Option<bool>,
    /// `--enable-wb-cache` / `--disable-wb-cache`.
    pub wb_cache: Option<bool>,
    pub thread_count: Option<u32>,
    pub eq_count: Option<u32>,
    /// `--multi-user` (needed for non-root pods: allow_other); default on.
    pub multi_user: bool,
}

impl Default for DfuseOptions {
    fn default() -> Self {
        DfuseOptions {
            caching: None,
            wb_cache: None,
            thread_count: None,
            eq_count: None,
            multi_user: true,
        }
    }
}

impl DfuseOptions {
    /// Takes the dfuse keys out of `params`; other keys are left for the caller.
    fn take_from(params: &mut BTreeMap<String, String>) -> Result<DfuseOptions, Status> {
        let mut o = DfuseOptions::default();
        if let Some(v) = params.remove(CTX_DFUSE_CACHING) {
            o.caching = Some(parse_bool(CTX_DFUSE_CACHING, &v)?);
        }
        if let Some(v) = params.remove(CTX_DFUSE_WB_CACHE) {
            o.wb_cache = Some(parse_bool(CTX_DFUSE_WB_CACHE, &v)?);
        }
        if let Some(v) = params.remove(CTX_DFUSE_THREADS) {
            o.thread_count = Some(parse_count(CTX_DFUSE_THREADS, &v, MAX_DFUSE_THREADS)?);
        }
        if let Some(v) = params.remove(CTX_DFUSE_EQS) {
            o.eq_count = Some(parse_count(CTX_DFUSE_EQS, &v, MAX_DFUSE_THREADS)?);
        }
        if let Some(v) = params.remove(CTX_DFUSE_MULTI_USER) {
            o.multi_user = parse_bool(CTX_DFUSE_MULTI_USER, &v)?;
        }
        Ok(o)
    }

    /// Reads the dfuse keys of a volume context, ignoring every other key.
    pub fn from_context(ctx: &HashMap<String, String>) -> Result<DfuseOptions, Status> {
        let mut only_dfuse: BTreeMap<String, String> = ctx
            .iter()
            .filter(|(k, _)| DFUSE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        DfuseOptions::take_from(&mut only_dfuse)
    }

    pub fn write_context(&self, ctx: &mut HashMap<String, String>) {
        let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
        if let Some(c) = self.caching {
            ctx.insert(CTX_DFUSE_CACHING.into(), on_off(c));
        }
        if let Some(c) = self.wb_cache {
            ctx.insert(CTX_DFUSE_WB_CACHE.into(), on_off(c));
        }
        if let Some(n) = self.thread_count {
            ctx.insert(CTX_DFUSE_THREADS.into(), n.to_string());
        }
        if let Some(n) = self.eq_count {
            ctx.insert(CTX_DFUSE_EQS.into(), n.to_string());
        }
        ctx.insert(CTX_DFUSE_MULTI_USER.into(), self.multi_user.to_string());
    }
}

/// Object class names as `daos cont create --oclass` takes them (SX, RP_3GX,
/// EC_4P2GX, ...): checked for shape here, resolved by libdaos.
fn parse_oclass(key: &str, v: &str) -> Result<String, Status> {
    let ok =
        !v.is_empty() && v.len() <= 32 && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if ok {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(invalid(format!(
            "{key}={v:?}: not an object class name (e.g. SX, RP_3GX, EC_4P2GX)"
        )))
    }
}

/// Root directory mode bits as octal text (`775`, `0775`, `2775`).
fn parse_mode(key: &str, v: &str) -> Result<u32, Status> {
    let mode = u32::from_str_radix(v, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            invalid(format!(
                "{key}={v:?}: expected octal permission bits such as 0775"
            ))
        })?;
    if mode & STICKY_BIT != 0 {
        // libdfs answers ENOTSUP for it (dfs_chmod and dfs_osetattr,
        // src/client/dfs/obj.c): say so here instead of failing deep inside
        // CreateVolume.
        return Err(invalid(format!(
            "{key}={v:?}: DAOS file systems do not support the sticky bit (01000); use a mode \
             without it, such as {:04o}",
            mode & !STICKY_BIT
        )));
    }
    Ok(mode)
}

/// The sticky bit, which libdfs refuses on every file and directory.
const STICKY_BIT: u32 = 0o1000;

/// Root directory mode when a StorageClass does not set `rootMode`: group-
/// writable so an fsGroup-based pod can write, not world-writable.
pub const DEFAULT_ROOT_MODE: u32 = 0o775;

/// StorageClass parameters of CreateVolume, parsed and checked.
#[derive(Debug, Clone)]
pub struct CreateParams {
    pub pool: EntityName,
    pub system: SystemName,
    pub oclass: Option<String>,
    pub dir_oclass: Option<String>,
    pub file_oclass: Option<String>,
    pub chunk_size: Option<u64>,
    pub redundancy_factor: Option<u64>,
    pub root_uid: Option<u32>,
    pub root_gid: Option<u32>,
    pub root_mode: u32,
    /// ACE strings (`A::OWNER@:rwdtTaAo`), checked by libdaos' parser.
    pub acl: Vec<String>,
    /// `property.<name>` entries, names as `daos cont create --properties`.
    pub properties: Vec<(String, String)>,
    pub dfuse: DfuseOptions,
    /// SHA-256 of the parameters that shape the volume (ALREADY_EXISTS check).
    pub hash: String,
}

/// Plain parameter keys (besides `property.<name>` and the dfuse keys).
const PARAM_KEYS: [&str; 11] = [
    "pool",
    "system",
    "oclass",
    "dirOclass",
    "fileOclass",
    "chunkSize",
    "redundancyFactor",
    "rootUid",
    "rootGid",
    "rootMode",
    "acl",
];

impl CreateParams {
    /// Parses StorageClass parameters. `default_system` applies when no
    /// `system` parameter is given.
    pub fn parse(
        params: &HashMap<String, String>,
        default_system: &SystemName,
    ) -> Result<CreateParams, Status> {
        let mut rest: BTreeMap<String, String> = params
            .iter()
            .filter(|(k, _)| !k.starts_with(PROVISIONER_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let hash = params_hash(&rest);

        let dfuse = DfuseOptions::take_from(&mut rest)?;
        let mut properties = Vec::new();
        let property_keys: Vec<String> = rest
            .keys()
            .filter(|k| k.starts_with("property."))
            .cloned()
            .collect();
        for key in property_keys {
            let value = rest.remove(&key).unwrap_or_default();
            let name = key.trim_start_matches("property.").to_string();
            properties.push((name, value));
        }
        if !properties.is_empty() {
            daos::Properties::from_pairs(&properties)
                .map_err(|e| invalid(format!("StorageClass property parameters: {e}")))?;
        }

        let unknown: Vec<&str> = rest
            .keys()
            .map(String::as_str)
            .filter(|k| !PARAM_KEYS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "unknown StorageClass parameter(s): {} (known: {}, property.<name>, {})",
                unknown.join(", "),
                PARAM_KEYS.join(", "),
                DFUSE_KEYS.join(", ")
            )));
        }

        let pool = match rest.get("pool") {
            Some(p) => EntityName::parse(p).map_err(|e| invalid(format!("parameter pool: {e}")))?,
            None => return Err(invalid("parameter pool is required (a pool label or UUID)")),
        };
        let system = match rest.get("system") {
            Some(s) => {
                SystemName::parse(s).map_err(|e| invalid(format!("parameter system: {e}")))?
            }
            None => default_system.clone(),
        };
        let oclass = rest
            .get("oclass")
            .map(|v| parse_oclass("oclass", v))
            .transpose()?;
        let dir_oclass = rest
            .get("dirOclass")
            .map(|v| parse_oclass("dirOclass", v))
            .transpose()?;
        let file_oclass = rest
            .get("fileOclass")
            .map(|v| parse_oclass("fileOclass", v))
            .transpose()?;
        let chunk_size = rest
            .get("chunkSize")
            .map(|v| {
                daos::prop::parse_size(v).filter(|n| *n > 0).ok_or_else(|| {
                    invalid(format!(
                        "chunkSize={v:?}: expected a size such as 1MiB or 1048576"
                    ))
                })
            })
            .transpose()?;
        let redundancy_factor = rest
            .get("redundancyFactor")
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n <= 4)
                    .ok_or_else(|| invalid(format!("redundancyFactor={v:?}: expected 0 to 4")))
            })
            .transpose()?;
        let root_uid = rest
            .get("rootUid")
            .map(|v| parse_id("rootUid", v))
            .transpose()?;
        let root_gid = rest
            .get("rootGid")
            .map(|v| parse_id("rootGid", v))
            .transpose()?;
        let root_mode = rest
            .get("rootMode")
            .map(|v| parse_mode("rootMode", v))
            .transpose()?
            .unwrap_or(DEFAULT_ROOT_MODE);
        let acl: Vec<String> = rest
            .get("acl")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if !acl.is_empty() {
            daos::Acl::from_strs(&acl).map_err(|e| invalid(format!("parameter acl: {e}")))?;
        }
        if properties
            .iter()
            .any(|(n, _)| n == "rf" || n == "redun_fac")
            && redundancy_factor.is_some()
        {
            return Err(invalid(
                "give the redundancy factor once: redundancyFactor or property.rf",
            ));
        }
        Ok(CreateParams {
            pool,
            system,
            oclass,
            dir_oclass,
            file_oclass,
            chunk_size,
            redundancy_factor,
            root_uid,
            root_gid,
            root_mode,
            acl,
            properties,
            dfuse,
            hash,
        })
    }
}

/// A stable digest of the parameters that matter (provisioner keys removed).
fn params_hash(params: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (k, v) in params {
        text.push_str(k);
        text.push('=');
        text.push_str(v);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// The bytes a CreateVolume asks for: `required_bytes`, else `limit_bytes`,
/// else 0 (no preference).
pub fn requested_bytes(range: Option<&CapacityRange>) -> Result<u64, Status> {
    let Some(r) = range else { return Ok(0) };
    if r.required_bytes < 0 || r.limit_bytes < 0 {
        return Err(invalid("capacity_range: byte counts must not be negative"));
    }
    if r.limit_bytes > 0 && r.required_bytes > r.limit_bytes {
        return Err(Status::out_of_range(format!(
            "capacity_range: required_bytes {} exceeds limit_bytes {}",
            r.required_bytes, r.limit_bytes
        )));
    }
    let bytes = if r.required_bytes > 0 {
        r.required_bytes
    } else {
        r.limit_bytes
    };
    Ok(bytes.unsigned_abs())
}

/// Access of a checked volume capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The access mode itself is read-only (`*_READER_ONLY`).
    pub read_only_mode: bool,
}

/// Checks one capability: mount access type (block is not supported by a
/// file system), a known access mode (a shared file system honours all).
pub fn check_capability(field: &str, cap: &VolumeCapability) -> Result<Access, Status> {
    use volume_capability::access_mode::Mode;
    match &cap.access_type {
        Some(volume_capability::AccessType::Mount(m)) => {
            if !m.fs_type.is_empty() && m.fs_type != "daos" && m.fs_type != "fuse.daos" {
                return Err(invalid(format!(
                    "{field}: fs_type {:?} is not supported (DAOS volumes are dfuse mounts)",
                    m.fs_type
                )));
            }
        }
        Some(volume_capability::AccessType::Block(_)) => {
            return Err(invalid(format!(
                "{field}: block access is not supported; use a mount capability"
            )));
        }
        None => {
            return Err(invalid(format!(
                "{field}: access_type (mount or block) is required"
            )));
        }
    }
    let mode = cap
        .access_mode
        .as_ref()
        .ok_or_else(|| invalid(format!("{field}: access_mode is required")))?
        .mode();
    let read_only_mode = match mode {
        Mode::Unknown => return Err(invalid(format!("{field}: access_mode is UNKNOWN"))),
        Mode::SingleNodeReaderOnly | Mode::MultiNodeReaderOnly => true,
        Mode::SingleNodeWriter
        | Mode::MultiNodeSingleWriter
        | Mode::MultiNodeMultiWriter
        | Mode::SingleNodeSingleWriter
        | Mode::SingleNodeMultiWriter => false,
    };
    Ok(Access { read_only_mode })
}

/// Checks a list of capabilities (REQUIRED, at least one).
pub fn check_capabilities(field: &str, caps: &[VolumeCapability]) -> Result<(), Status> {
    if caps.is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    caps.iter()
        .try_for_each(|c| check_capability(field, c).map(|_| ()))
}

/// Attributes of a CSI inline ephemeral volume, compatible with the first
/// DAOS CSI driver (`poolid`, `uid`) plus our own keys.
#[derive(Debug, Clone)]
pub struct EphemeralSpec {
    pub pool: EntityName,
    pub system: SystemName,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub dfuse: DfuseOptions,
}

impl EphemeralSpec {
    pub fn is_ephemeral(ctx: &HashMap<String, String>) -> bool {
        ctx.get(CTX_EPHEMERAL).is_some_and(|v| v == "true")
    }

    pub fn parse(
        ctx: &HashMap<String, String>,
        default_system: &SystemName,
    ) -> Result<EphemeralSpec, Status> {
        let mut rest: BTreeMap<String, String> = ctx
            .iter()
            .filter(|(k, _)| !k.starts_with(PROVISIONER_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let dfuse = DfuseOptions::take_from(&mut rest)?;
        let pool_raw = match (rest.remove("pool"), rest.remove("poolid")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "inline volume: give either pool or poolid, not both",
                ));
            }
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => {
                return Err(invalid(
                    "inline volume: volumeAttributes.pool (or poolid) is required",
                ));
            }
        };
        let pool = EntityName::parse(&pool_raw)
            .map_err(|e| invalid(format!("inline volume pool: {e}")))?;
        let system = match rest.remove("system") {
            Some(s) => {
                SystemName::parse(&s).map_err(|e| invalid(format!("inline volume system: {e}")))?
            }
            None => default_system.clone(),
        };
        let uid = rest
            .remove("uid")
            .map(|v| parse_id("uid", &v))
            .transpose()?;
        let gid = rest
            .remove("gid")
            .map(|v| parse_id("gid", &v))
            .transpose()?;
        if !rest.is_empty() {
            let keys: Vec<&str> = rest.keys().map(String::as_str).collect();
            return Err(invalid(format!(
                "inline volume: unknown volumeAttributes: {} (known: pool, poolid, system, uid, gid, {})",
                keys.join(", "),
                DFUSE_KEYS.join(", ")
            )));
        }
        Ok(EphemeralSpec {
            pool,
            system,
            uid,
            gid,
            dfuse,
        })
    }
}

/// ListVolumes pagination token: the id of the last volume returned, so a
/// page boundary survives volumes appearing or vanishing between calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListToken {
    pub after: String,
}

const TOKEN_PREFIX: &str = "v1.";

impl ListToken {
    pub fn encode(&self) -> String {
        let hex: String = self.after.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{TOKEN_PREFIX}{hex}")
    }

    /// A token this driver did not hand out is ABORTED, as the spec asks.
    pub fn decode(token: &str) -> Result<ListToken, Status> {
        let bad = || {
            Status::aborted(format!(
                "starting_token {token:?} is not a token this driver issued"
            ))
        };
        let hex = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
        if hex.is_empty() || hex.len() % 2 != 0 {
            return Err(bad());
        }
        // Byte by byte: the token is the caller's text, and slicing a str
        // at a byte offset inside a multi-byte character panics.
        let nibble = |b: u8| char::from(b).to_digit(16);
        let bytes = hex
            .as_bytes()
            .chunks_exact(2)
            .map(|pair| Some((nibble(pair[0])? << 4 | nibble(pair[1])?) as u8))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        let after = String::from_utf8(bytes).map_err(|_| bad())?;
        VolumeId::parse(&after, &SystemName::default_system()).map_err(|_| bad())?;
        Ok(ListToken { after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const P: &str = "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10";
    const C: &str = "6d1d8a4e-1111-4222-8333-944455556666";

    #[test]
    fn volume_ids() {
        let def = SystemName::default_system();
        let id = VolumeId::parse(&format!("daos_server/{P}/{C}"), &def).unwrap();
        assert_eq!(id.pool, EntityName::Uuid(Uuid::parse_str(P).unwrap()));
        assert_eq!(id.system.for_daos(), None);
        let id = VolumeId::parse("tank/mycont", &def).unwrap();
        assert_eq!(id.pool, EntityName::Label("tank".into()));
        assert_eq!(id.container, EntityName::Label("mycont".into()));
        assert_eq!(id.system, def);
        assert_eq!(id.as_str(), "tank/mycont");
        let id = VolumeId::parse("prod/tank/mycont", &def).unwrap();
        assert_eq!(id.system.for_daos(), Some("prod"));

        let made = VolumeId::new(
            SystemName::parse("prod").unwrap(),
            Uuid::parse_str(P).unwrap(),
            Uuid::parse_str(C).unwrap(),
        );
        assert_eq!(made.as_str(), format!("prod/{P}/{C}"));
        assert_eq!(VolumeId::parse(made.as_str(), &def).unwrap(), made);

        for bad in [
            "",
            "tank",
            "a/b/c/d",
            "tank/bad label",
            "tank/",
            "/tank/c",
            "waytoolongsystemname/t/c",
            "t/a b/c",
        ] {
            let e = VolumeId::parse(bad, &def).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn labels_are_deterministic_and_valid() {
        assert_eq!(container_label_for("pvc-1234"), "pvc-1234");
        let long = "x".repeat(200);
        let l = container_label_for(&long);
        assert_eq!(l, container_label_for(&long));
        assert!(l.starts_with("csi-") && l.len() == 36);
        assert!(daos::label::is_valid(&l));
        // A name DAOS would read as a UUID must not become a label as is.
        assert!(container_label_for(P).starts_with("csi-"));
        assert!(container_label_for("has space").starts_with("csi-"));
        assert!(container_label_for("container_label_not_set").starts_with("csi-"));
        assert_ne!(container_label_for("a b"), container_label_for("a c"));
    }

    #[test]
    fn create_params_good() {
        let p = CreateParams::parse(
            &map(&[
                ("pool", "tank"),
                ("oclass", "sx"),
                ("chunkSize", "1MiB"),
                ("redundancyFactor", "1"),
                ("rootUid", "1000"),
                ("rootGid", "2000"),
                ("rootMode", "2770"),
                ("acl", "A::OWNER@:rwdtTaAo, A:G:GROUP@:rwtT"),
                ("property.cksum", "crc32"),
                ("dfuseCaching", "off"),
                ("dfuseThreadCount", "8"),
                ("csi.storage.k8s.io/pvc/name", "data"),
            ]),
            &SystemName::default_system(),
        )
        .unwrap();
        assert_eq!(p.pool, EntityName::Label("tank".into()));
        assert_eq!(p.oclass.as_deref(), Some("SX"));
        assert_eq!(p.chunk_size, Some(1 << 20));
        assert_eq!(p.redundancy_factor, Some(1));
        assert_eq!(
            (p.root_uid, p.root_gid, p.root_mode),
            (Some(1000), Some(2000), 0o2770)
        );
        assert_eq!(p.acl.len(), 2);
        assert_eq!(
            p.properties,
            vec![("cksum".to_string(), "crc32".to_string())]
        );
        assert_eq!(p.dfuse.caching, Some(false));
        assert_eq!(p.dfuse.thread_count, Some(8));
        assert!(p.dfuse.multi_user);

        let minimal =
            CreateParams::parse(&map(&[("pool", P)]), &SystemName::default_system()).unwrap();
        assert_eq!(minimal.root_mode, DEFAULT_ROOT_MODE);
        assert!(minimal.pool.uuid().is_some());
    }

    #[test]
    fn create_params_hash_ignores_provisioner_keys_only() {
        let def = SystemName::default_system();
        let a = CreateParams::parse(&map(&[("pool", "tank")]), &def).unwrap();
        let b = CreateParams::parse(
            &map(&[("pool", "tank"), ("csi.storage.k8s.io/pv/name", "x")]),
            &def,
        )
        .unwrap();
        let c = CreateParams::parse(&map(&[("pool", "tank"), ("rootMode", "0700")]), &def).unwrap();
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn create_params_bad() {
        let def = SystemName::default_system();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "pool is required"),
            (&[("pool", "bad pool")], "pool"),
            (
                &[("pool", "tank"), ("colour", "blue"), ("size", "1")],
                "colour, size",
            ),
            (&[("pool", "tank"), ("rootMode", "999")], "rootMode"),
            (&[("pool", "tank"), ("rootMode", "17777")], "rootMode"),
            (&[("pool", "tank"), ("rootMode", "1777")], "sticky bit"),
            (&[("pool", "tank"), ("rootMode", "3770")], "such as 2770"),
            (&[("pool", "tank"), ("rootUid", "-1")], "rootUid"),
            (
                &[("pool", "tank"), ("redundancyFactor", "5")],
                "redundancyFactor",
            ),
            (&[("pool", "tank"), ("chunkSize", "lots")], "chunkSize"),
            (&[("pool", "tank"), ("oclass", "S X")], "oclass"),
            (
                &[("pool", "tank"), ("dfuseCaching", "maybe")],
                "dfuseCaching",
            ),
            (
                &[("pool", "tank"), ("dfuseThreadCount", "0")],
                "dfuseThreadCount",
            ),
            (&[("pool", "tank"), ("system", "a/b")], "system"),
            (&[("pool", "tank"), ("acl", "not-an-ace")], "acl"),
            (
                &[("pool", "tank"), ("property.nosuchprop", "1")],
                "property",
            ),
            (
                &[
                    ("pool", "tank"),
                    ("property.rf", "1"),
                    ("redundancyFactor", "1"),
                ],
                "once",
            ),
        ];
        for (pairs, needle) in cases {
            let e = CreateParams::parse(&map(pairs), &def).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{pairs:?}");
            assert!(e.message().contains(needle), "{pairs:?}: {}", e.message());
        }
    }

    #[test]
    fn dfuse_options_round_trip_through_context() {
        let o = DfuseOptions {
            caching: Some(true),
            wb_cache: Some(false),
            thread_count: Some(4),
            eq_count: Some(2),
            multi_user: false,
        };
        let mut ctx = map(&[("pool", "tank")]);
        o.write_context(&mut ctx);
        assert_eq!(ctx.get(CTX_DFUSE_WB_CACHE).map(String::as_str), Some("off"));
        assert_eq!(DfuseOptions::from_context(&ctx).unwrap(), o);
        assert_eq!(
            DfuseOptions::from_context(&map(&[])).unwrap(),
            DfuseOptions::default()
        );
        assert!(DfuseOptions::from_context(&map(&[(CTX_DFUSE_EQS, "x")])).is_err());
    }

    #[test]
    fn capacity() {
        let r = |req, lim| CapacityRange {
            required_bytes: req,
            limit_bytes: lim,
        };
        assert_eq!(requested_bytes(None).unwrap(), 0);
        assert_eq!(requested_bytes(Some(&r(10, 0))).unwrap(), 10);
        assert_eq!(requested_bytes(Some(&r(0, 20))).unwrap(), 20);
        assert_eq!(requested_bytes(Some(&r(10, 20))).unwrap(), 10);
        assert_eq!(
            requested_bytes(Some(&r(-1, 0))).unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            requested_bytes(Some(&r(30, 20))).unwrap_err().code(),
            Code::OutOfRange
        );
    }

    #[test]
    fn capabilities() {
        use volume_capability::{
            AccessMode, AccessType, BlockVolume, MountVolume, access_mode::Mode,
        };
        let cap = |t: Option<AccessType>, m: Option<Mode>| VolumeCapability {
            access_type: t,
            access_mode: m.map(|m| AccessMode { mode: m as i32 }),
        };
        let mount = || Some(AccessType::Mount(MountVolume::default()));
        for m in [
            Mode::SingleNodeWriter,
            Mode::MultiNodeMultiWriter,
            Mode::SingleNodeMultiWriter,
        ] {
            assert!(
                !check_capability("c", &cap(mount(), Some(m)))
                    .unwrap()
                    .read_only_mode
            );
        }
        assert!(
            check_capability("c", &cap(mount(), Some(Mode::MultiNodeReaderOnly)))
                .unwrap()
                .read_only_mode
        );
        assert!(
            check_capability(
                "c",
                &cap(
                    Some(AccessType::Block(BlockVolume {})),
                    Some(Mode::SingleNodeWriter)
                )
            )
            .is_err()
        );
        assert!(check_capability("c", &cap(None, Some(Mode::SingleNodeWriter))).is_err());
        assert!(check_capability("c", &cap(mount(), None)).is_err());
        assert!(check_capability("c", &cap(mount(), Some(Mode::Unknown))).is_err());
        let ext4 = Some(AccessType::Mount(MountVolume {
            fs_type: "ext4".into(),
            ..Default::default()
        }));
        assert!(check_capability("c", &cap(ext4, Some(Mode::SingleNodeWriter))).is_err());
        assert!(
            check_capabilities("volume_capabilities", &[])
                .unwrap_err()
                .message()
                .contains("volume_capabilities")
        );
    }

    #[test]
    fn ephemeral_attributes() {
        let def = SystemName::default_system();
        let ctx = map(&[
            (CTX_EPHEMERAL, "true"),
            ("poolid", "tank"),
            ("uid", "1000"),
            ("csi.storage.k8s.io/pod.name", "p"),
        ]);
        assert!(EphemeralSpec::is_ephemeral(&ctx));
        let e = EphemeralSpec::parse(&ctx, &def).unwrap();
        assert_eq!(e.pool, EntityName::Label("tank".into()));
        assert_eq!(e.uid, Some(1000));
        assert_eq!(e.gid, None);

        assert!(!EphemeralSpec::is_ephemeral(&map(&[("pool", "tank")])));
        assert!(EphemeralSpec::parse(&map(&[(CTX_EPHEMERAL, "true")]), &def).is_err());
        assert!(EphemeralSpec::parse(&map(&[("pool", "a"), ("poolid", "a")]), &def).is_err());
        let e = EphemeralSpec::parse(&map(&[("pool", "tank"), ("cmd", "$(rm -rf /)")]), &def)
            .unwrap_err();
        assert!(e.message().contains("cmd"));
        assert!(EphemeralSpec::parse(&map(&[("pool", "tank; rm -rf /")]), &def).is_err());
    }

    #[test]
    fn list_tokens() {
        let t = ListToken {
            after: format!("daos_server/{P}/{C}"),
        };
        assert_eq!(ListToken::decode(&t.encode()).unwrap(), t);
        for bad in [
            "", "garbage", "v1.", "v1.zz", "v1.616", "v1.6162", "v1.+a+a",
        ] {
            assert_eq!(
                ListToken::decode(bad).unwrap_err().code(),
                Code::Aborted,
                "{bad}"
            );
        }
    }

    #[test]
    fn non_ascii_list_tokens_are_aborted_not_panics() {
        // Even byte lengths, with a character boundary off the 2-byte grid.
        for bad in ["v1.€a", "v1.é", "v1.aé0", "v1.🦀"] {
            assert_eq!(
                ListToken::decode(bad).unwrap_err().code(),
                Code::Aborted,
                "{bad}"
            );
        }
    }
}
