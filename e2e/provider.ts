/**
 * A pure model of the docker provider this program uses (@pulumi/docker 5.2.0:
 * kreuzwerker/terraform-provider-docker at 5074970c = v4.5.0, pulumi's patches touch
 * neither containers nor networks), so the e2e fixture cannot be kinder than it:
 *
 * - which Docker Engine API calls it makes to create and delete a container, a
 *   network and a volume;
 * - what its Read puts into the state from `GET /containers/{id}/json` and
 *   `GET /networks/{id}` (Create ends with a Read, so this is the state the next
 *   `pulumi up` diffs against, refresh or not);
 * - its diff: which attributes force a replacement or an update, from the schema.
 *
 * Citations: C = internal/provider/resource_docker_container.go (schema),
 * CF = resource_docker_container_funcs.go, N = resource_docker_network.go,
 * NF = resource_docker_network_funcs.go, V = resource_docker_volume.go, all at 5074970c
 * (/work/.mirror/kreuzwerker+terraform-provider-docker). SDK = terraform-plugin-sdk
 * helper/schema/schema.go (pulumi's fork, which the bridge runs).
 */

/** One Docker Engine API call; `tolerate` lists error texts the provider ignores (helpers.go:113, case-insensitive). */
export interface ApiCall {
    readonly method: "GET" | "POST" | "DELETE";
    readonly path: string;
    readonly body?: Record<string, unknown>;
    readonly tolerate?: readonly string[];
}

type Value = unknown;
/** Provider state or configuration in Terraform attribute names (snake_case). */
export type Attributes = Record<string, Value>;

/** How the schema declares an attribute: only what decides a diff. */
interface AttributeSchema {
    readonly type: "string" | "bool" | "int" | "set" | "list" | "map";
    readonly forceNew?: boolean;
    /** Optional+Computed: a value Read fills in while the config omits it is no change. */
    readonly computed?: boolean;
    readonly default?: Value;
    /** DiffSuppressFunc that treats a configured "" as no change (C:187 user, C:248 working_dir). */
    readonly emptyIsNoChange?: boolean;
    /** Sub-attribute defaults of a MaxItems=1 block, filled into the config before comparing (SDK applies Default per sub-attribute). */
    readonly blockDefaults?: Record<string, Value>;
}

/** The container schema (C:50-1182), every attribute Read sets or the program may declare. */
export const CONTAINER_SCHEMA: Record<string, AttributeSchema> = {
    name: { type: "string", forceNew: true }, // C:50
    rm: { type: "bool", default: false }, // C:57
    read_only: { type: "bool", forceNew: true, default: false }, // C:64
    must_run: { type: "bool", default: true }, // C:122
    image: { type: "string", forceNew: true }, // C:141
    hostname: { type: "string", forceNew: true, computed: true }, // C:148
    domainname: { type: "string", forceNew: true }, // C:156
    command: { type: "list", forceNew: true, computed: true }, // C:163
    entrypoint: { type: "list", forceNew: true, computed: true }, // C:172
    user: { type: "string", forceNew: true, emptyIsNoChange: true }, // C:181
    dns: { type: "set", forceNew: true }, // C:196
    dns_opts: { type: "set", forceNew: true }, // C:205
    dns_search: { type: "set", forceNew: true }, // C:214
    publish_all_ports: { type: "bool", forceNew: true }, // C:223
    restart: { type: "string", default: "no" }, // C:230
    max_retry_count: { type: "int" }, // C:238
    working_dir: { type: "string", forceNew: true, emptyIsNoChange: true }, // C:243
    // C:256-261: Optional, Default true, not ForceNew; only Delete reads it (CF:1100-1103), from the state.
    remove_volumes: { type: "bool", default: true },
    // C:262: ForceNew, not Computed, "TODO implement DiffSuppressFunc".
    capabilities: { type: "set", forceNew: true, blockDefaults: { add: [], drop: [] } },
    security_opts: { type: "set", forceNew: true, computed: true }, // C:291
    runtime: { type: "string", forceNew: true, computed: true }, // C:300
    platform: { type: "string", forceNew: true, computed: true }, // C:307
    stop_signal: { type: "string", forceNew: true, computed: true }, // C:314
    stop_timeout: { type: "int", forceNew: true, computed: true }, // C:321
    mounts: { type: "set", forceNew: true }, // C:328
    volumes: { type: "set", forceNew: true }, // C:434
    tmpfs: { type: "map" }, // C:482
    host: { type: "set", forceNew: true }, // C:537
    env: { type: "set", forceNew: true, computed: true }, // C:590
    privileged: { type: "bool", forceNew: true }, // C:656
    device_read_bps: { type: "set" }, // C:693
    device_read_iops: { type: "set" }, // C:713
    device_write_bps: { type: "set" }, // C:733
    device_write_iops: { type: "set" }, // C:753
    destroy_grace_seconds: { type: "int" }, // C:827
    labels: { type: "set", forceNew: true, computed: true }, // C:833
    memory: { type: "int" }, // C:842
    memory_reservation: { type: "int", default: 0 }, // C:848
    memory_swap: { type: "int" }, // C:856
    shm_size: { type: "int", forceNew: true, computed: true }, // C:863
    cpu_shares: { type: "int" }, // C:872
    cpu_set: { type: "string" }, // C:879
    log_driver: { type: "string", forceNew: true, computed: true }, // C:886
    log_opts: { type: "map", forceNew: true }, // C:894
    network_mode: { type: "string", forceNew: true, default: "bridge" }, // C:901
    networks_advanced: { type: "set", forceNew: true }, // C:909
    userns_mode: { type: "string", forceNew: true }, // C:980
    // C:1045: Optional+Computed and NOT ForceNew; its sub-attributes default to "0s"/0 (C:1061-1093).
    healthcheck: {
        type: "list", computed: true,
        blockDefaults: { interval: "0s", timeout: "0s", start_period: "0s", start_interval: "0s", retries: 0 },
    },
    sysctls: { type: "map", forceNew: true }, // C:1105
    ipc_mode: { type: "string", forceNew: true, computed: true }, // C:1111
    group_add: { type: "set", forceNew: true }, // C:1118
    init: { type: "bool", computed: true }, // C:1126
    tty: { type: "bool", forceNew: true, default: false }, // C:1132
    stdin_open: { type: "bool", forceNew: true, default: false }, // C:1139
    storage_opts: { type: "map", forceNew: true }, // C:1146
};

/**
 * What the provider's Update applies to a running container (CF:997-1075): must_run
 * (starts it) and these, through ContainerUpdate. Any other non-ForceNew change is
 * written to the state and never reaches the container.
 */
export const CONTAINER_UPDATABLE = new Set([
    "must_run", "restart", "max_retry_count", "cpu_shares", "memory", "memory_reservation", "cpu_set", "memory_swap",
    "device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops",
]);
/** Attributes that only steer the provider itself (how to delete, wait, read): a change has nothing to apply. */
export const CONTAINER_PROVIDER_ONLY = new Set(["destroy_grace_seconds", "remove_volumes", "start", "wait", "wait_timeout", "attach", "logs", "container_read_refresh_timeout_milliseconds"]);

/** The network schema (N:25-139). */
export const NETWORK_SCHEMA: Record<string, AttributeSchema> = {
    name: { type: "string", forceNew: true }, // N:25
    labels: { type: "set", forceNew: true }, // N:32
    driver: { type: "string", forceNew: true, computed: true }, // N:40
    options: { type: "map", forceNew: true, computed: true }, // N:48
    internal: { type: "bool", forceNew: true, computed: true }, // N:56
    attachable: { type: "bool", forceNew: true }, // N:64
    ingress: { type: "bool", forceNew: true }, // N:71
    ipv6: { type: "bool", forceNew: true }, // N:78
    ipam_driver: { type: "string", forceNew: true, default: "default" }, // N:85
    // N:92: ForceNew and not Computed, while Podman reports {"driver":"host-local"} for every network.
    ipam_options: { type: "map", forceNew: true },
    ipam_config: { type: "set", forceNew: true, computed: true }, // N:99
};

/** The volume schema (V:41-72). */
export const VOLUME_SCHEMA: Record<string, AttributeSchema> = {
    name: { type: "string", forceNew: true, computed: true },
    labels: { type: "set", forceNew: true },
    driver: { type: "string", forceNew: true, computed: true },
    driver_opts: { type: "map", forceNew: true },
};

// ---------------------------------------------------------------------------
// Program inputs (Pulumi names) to provider configuration (Terraform names).

/** Pulumi property names whose Terraform name is not plain snake_case (the SDK pluralises lists). */
const PULUMI_TO_TF: Record<string, string> = {
    envs: "env", tests: "test", adds: "add", drops: "drop", hosts: "host", ulimits: "ulimit", uploads: "upload",
    ipamConfigs: "ipam_config", dnsOpts: "dns_opts",
};
/** The Terraform name of a Pulumi property name. */
export function tfName(pulumiName: string): string {
    return PULUMI_TO_TF[pulumiName] ?? pulumiName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Converts one resource's registered inputs to Terraform configuration, refusing any field this model does not know. */
function toTf(what: string, inputs: Record<string, unknown>, known: Record<string, readonly string[] | null>): Attributes {
    const config: Attributes = {};
    for (const [key, value] of Object.entries(inputs)) {
        if (!(key in known)) throw new Error(`e2e provider model: ${what} input "${key}" is not mapped; map it in e2e/provider.ts or drop it`);
        const fields = known[key];
        const convert = (item: Record<string, unknown>) => {
            const extra = Object.keys(item).filter((k) => !fields!.includes(k));
            if (extra.length > 0) throw new Error(`e2e provider model: ${what} ${key} fields ${extra.join(", ")} are not mapped`);
            return Object.fromEntries(Object.entries(item).map(([k, v]) => [tfName(k), v]));
        };
        if (fields === null) config[tfName(key)] = value;
        else if (Array.isArray(value)) config[tfName(key)] = value.map(convert);
        else config[tfName(key)] = [convert(value as Record<string, unknown>)]; // a MaxItems=1 block is a one-element list
    }
    return config;
}

/** A docker Container's inputs, as the provider receives them. Only fields this model maps; anything else throws. */
export function containerConfig(inputs: Record<string, unknown>): Attributes {
    return toTf("container", inputs, {
        name: null, image: null, envs: null, restart: null, mustRun: null, destroyGraceSeconds: null, removeVolumes: null, command: null,
        volumes: ["volumeName", "containerPath", "readOnly"],
        networksAdvanced: ["name"],
        labels: ["label", "value"],
        healthcheck: ["tests", "interval", "timeout", "startPeriod", "startInterval", "retries"],
        capabilities: ["adds", "drops"],
    });
}

/** A docker Network's inputs, as the provider receives them. */
export function networkConfig(inputs: Record<string, unknown>): Attributes {
    return toTf("network", inputs, {
        name: null, driver: null, internal: null, ipamDriver: null, ipamOptions: null, options: null, labels: ["label", "value"],
    });
}

/** A docker Volume's inputs, as the provider receives them. */
export function volumeConfig(inputs: Record<string, unknown>): Attributes {
    return toTf("volume", inputs, { name: null });
}

// ---------------------------------------------------------------------------
// Create and delete: the Engine API calls, in order.

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/;
/** Go's time.ParseDuration for the h/m/s forms (CF:148 ignores its error: a bad value becomes 0). */
export function parseDuration(text: string): number {
    const match = DURATION.exec(text);
    if (!match || text === "") throw new Error(`e2e provider model: duration "${text}" is not mapped (h, m, s only)`);
    const [, h = "0", m = "0", s = "0"] = match;
    return Math.round(((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1e9);
}

/** Go's time.Duration.String for whole milliseconds and up, as Read writes healthcheck durations (CF:964-968). */
export function durationString(ns: number): string {
    if (ns === 0) return "0s";
    if (ns < 1e9) return `${ns / 1e6}ms`;
    const h = Math.floor(ns / 3600e9);
    const m = Math.floor((ns % 3600e9) / 60e9);
    const s = (ns % 60e9) / 1e9;
    return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

/** Stands for the id ContainerCreate answers, which the later calls use (retContainer.ID). */
export const CREATED = "created-container-id";

const labelMap = (labels: unknown) =>
    Object.fromEntries(((labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));

/**
 * The calls that create a container (CF:43-673): ContainerCreate with network_mode's
 * default "bridge" and no endpoints (CF:391-399, C:901), then, because
 * networks_advanced is set, a disconnect from "bridge" (CF:464, "is not connected"
 * tolerated) and one NetworkConnect per network (CF:468-502; a set, so no network is
 * "first"), then ContainerStart (CF:584-589). Create ends with Read (CF:673).
 */
export function containerCreateCalls(config: Attributes): ApiCall[] {
    const health = (config.healthcheck as Record<string, any>[] | undefined)?.[0];
    const volumes = (config.volumes as Record<string, any>[] | undefined) ?? [];
    const caps = (config.capabilities as Record<string, any>[] | undefined)?.[0];
    const networks = ((config.networks_advanced as { name: string }[] | undefined) ?? []).map((n) => n.name);
    const body = {
        // container.Config (CF:69-160)
        Image: config.image, Hostname: "", Domainname: "", Tty: false, OpenStdin: false, StopSignal: "",
        ...(config.env ? { Env: config.env } : {}),
        // command: Cmd only when set and not empty (CF:69-160, as env); unset, the image's CMD (Optional+Computed, C:163).
        ...((config.command as string[] | undefined)?.length ? { Cmd: config.command } : {}),
        ...(config.labels ? { Labels: labelMap(config.labels) } : {}),
        ...(volumes.length ? { Volumes: Object.fromEntries(volumes.map((v) => [v.container_path, {}])) } : {}),
        ...(health ? {
            Healthcheck: {
                Test: health.test, Interval: parseDuration(health.interval ?? "0s"), Timeout: parseDuration(health.timeout ?? "0s"),
                StartPeriod: parseDuration(health.start_period ?? "0s"), StartInterval: parseDuration(health.start_interval ?? "0s"),
                Retries: health.retries ?? 0,
            },
        } : {}),
        HostConfig: {
            // CF:250-263, binds from volumes (structures.go:289-326: "name:path:rw"), capabilities (CF:286-293), init (CF:447-448)
            Privileged: false, PublishAllPorts: false,
            RestartPolicy: { Name: config.restart ?? "no", MaximumRetryCount: 0 },
            Runtime: "", Mounts: [], AutoRemove: false, ReadonlyRootfs: false, LogConfig: { Type: "" },
            ...(volumes.length ? { Binds: volumes.map((v) => `${v.volume_name}:${v.container_path}:${v.read_only ? "ro" : "rw"}`) } : {}),
            ...(caps ? { CapAdd: caps.add ?? [], CapDrop: caps.drop ?? [] } : {}),
            NetworkMode: "bridge",
            Init: false,
        },
        NetworkingConfig: {},
    };
    const name = config.name as string;
    return [
        { method: "POST", path: `/containers/create?name=${encodeURIComponent(name)}`, body },
        ...(networks.length ? [
            { method: "POST" as const, path: "/networks/bridge/disconnect", body: { Container: CREATED, Force: false }, tolerate: ["is not connected to the network bridge"] },
            ...networks.map((network) => ({ method: "POST" as const, path: `/networks/${encodeURIComponent(network)}/connect`, body: { Container: CREATED, EndpointConfig: { IPAMConfig: {} } } })),
        ] : []),
        { method: "POST", path: `/containers/${CREATED}/start` },
    ];
}

/**
 * The calls that delete a container (CF:1079-1131): ContainerStop with
 * destroy_grace_seconds, or 0 when unset (CF:1086-1093; t=0 is an immediate SIGKILL),
 * then ContainerRemove with force and the state's remove_volumes (CF:1100-1103;
 * default true, C:256-261), which the Docker client sends as `v=1` and Podman's
 * compat handler reads as "remove the anonymous volumes" (pkg/api/handlers/compat/
 * containers.go:42,66 at v4.3.1; libpod/runtime_ctr.go:815-835), then ContainerWait
 * "not-running". "No such container" is tolerated throughout.
 */
export function containerDeleteCalls(id: string, state: Attributes): ApiCall[] {
    const grace = Number(state.destroy_grace_seconds ?? 0);
    const removeVolumes = state.remove_volumes ?? true;
    const gone = ["No such container"];
    return [
        { method: "POST", path: `/containers/${id}/stop?t=${grace > 0 ? grace : 0}`, tolerate: gone },
        { method: "DELETE", path: `/containers/${id}?${removeVolumes ? "v=1&" : ""}force=1`, tolerate: [...gone, "is already in progress"] },
        { method: "POST", path: `/containers/${id}/wait?condition=not-running`, tolerate: [...gone, "is already in progress"] },
    ];
}

/** NetworkCreate (NF:26-81): ipam_driver's default "default" always sends an IPAM block (N:85, NF:56-73). */
export function networkCreateCall(config: Attributes): ApiCall {
    return {
        method: "POST", path: "/networks/create",
        body: {
            Name: config.name,
            ...(config.labels ? { Labels: labelMap(config.labels) } : {}),
            ...(config.driver ? { Driver: config.driver } : {}),
            ...(config.options ? { Options: config.options } : {}),
            ...(config.internal ? { Internal: true } : {}),
            IPAM: { Driver: config.ipam_driver ?? "default", ...(config.ipam_options ? { Options: config.ipam_options } : {}) },
        },
    };
}

/** NetworkRemove, retried while "has active endpoints" (NF:205-224). */
export function networkDeleteCall(id: string): ApiCall {
    return { method: "DELETE", path: `/networks/${id}` };
}

/** VolumeCreate (V:166-285). */
export function volumeCreateCall(config: Attributes): ApiCall {
    return { method: "POST", path: "/volumes/create", body: { Name: config.name, ...(config.labels ? { Labels: labelMap(config.labels) } : {}) } };
}

// ---------------------------------------------------------------------------
// Read: the inspect answer to state attributes.

const list = <T>(value: T[] | null | undefined): T[] => value ?? [];
const map = (value: Record<string, string> | null | undefined): Record<string, string> => value ?? {};
const mb = (bytes: number) => Math.trunc(bytes / 1024 / 1024);
const toLabelSet = (labels: Record<string, string> | null | undefined) =>
    Object.entries(map(labels)).map(([label, value]) => ({ label, value }));

/**
 * What the container Read (CF:750-980) writes into the state from
 * `GET /containers/{id}/json`. `config` decides the reads that depend on it (GetOk):
 * image by sha256 or by name (CF:839-845), ulimit, devices, gpus, log_opts, pid_mode,
 * ports. env, labels, volumes and networks_advanced are not read (CF:892-897, CF:786-794):
 * the state keeps what was created. Computed-only attributes (bridge, network_data,
 * exit_code) never take part in a diff and are left out.
 */
export function readContainer(inspect: any, config: Attributes): Attributes {
    const host = inspect.HostConfig;
    const cfg = inspect.Config;
    const state: Attributes = {
        name: String(inspect.Name).replace(/^\/+/, ""),
        rm: host.AutoRemove,
        read_only: host.ReadonlyRootfs,
        image: String(config.image ?? "").startsWith("sha256:") ? inspect.Image : cfg.Image,
        hostname: cfg.Hostname,
        domainname: cfg.Domainname,
        command: list(cfg.Cmd),
        entrypoint: list(cfg.Entrypoint),
        user: cfg.User,
        dns: list(host.Dns),
        dns_opts: list(host.DnsOptions),
        security_opts: list(host.SecurityOpt),
        dns_search: list(host.DnsSearch),
        publish_all_ports: host.PublishAllPorts,
        restart: host.RestartPolicy.Name,
        max_retry_count: host.RestartPolicy.MaximumRetryCount,
        init: host.Init ?? false, // CF:864-868
        working_dir: cfg.WorkingDir,
        runtime: host.Runtime,
        platform: inspect.Platform,
        mounts: list(host.Mounts).map((m: any) => ({ target: m.Target, source: m.Source, type: m.Type, read_only: m.ReadOnly })),
        tmpfs: map(host.Tmpfs),
        host: list<string>(host.ExtraHosts).map((entry) => { const [h, ...ip] = entry.split(":"); return { host: h, ip: ip.join(":") }; }),
        privileged: host.Privileged,
        device_read_bps: list(host.BlkioDeviceReadBps),
        device_read_iops: list(host.BlkioDeviceReadIOps),
        device_write_bps: list(host.BlkioDeviceWriteBps),
        device_write_iops: list(host.BlkioDeviceWriteIOps),
        memory: mb(host.Memory),
        memory_reservation: host.MemoryReservation > 0 ? mb(host.MemoryReservation) : host.MemoryReservation,
        memory_swap: host.MemorySwap > 0 ? mb(host.MemorySwap) : host.MemorySwap,
        shm_size: mb(host.ShmSize),
        cpu_shares: host.CpuShares,
        cpu_set: host.CpusetCpus,
        log_driver: host.LogConfig.Type,
        storage_opts: map(host.StorageOpt),
        network_mode: host.NetworkMode,
        userns_mode: host.UsernsMode,
        sysctls: map(host.Sysctls),
        ipc_mode: host.IpcMode,
        group_add: list(host.GroupAdd),
        tty: cfg.Tty,
        stdin_open: cfg.OpenStdin,
        stop_signal: cfg.StopSignal,
        stop_timeout: cfg.StopTimeout ?? 0,
    };
    // CF:870-878: only when Podman/Docker reports any; there is no DiffSuppressFunc.
    if (list(host.CapAdd).length > 0 || list(host.CapDrop).length > 0) state.capabilities = [{ add: list(host.CapAdd), drop: list(host.CapDrop) }];
    if (host.NanoCpus > 0) state.cpus = String(host.NanoCpus / 1e9);
    if (config.log_opts !== undefined) state.log_opts = map(host.LogConfig.Config);
    if (config.pid_mode !== undefined) state.pid_mode = host.PidMode;
    for (const unsupported of ["ulimit", "devices", "gpus", "device_requests", "ports"]) {
        if (config[unsupported] !== undefined) throw new Error(`e2e provider model: reading back ${unsupported} is not mapped`);
    }
    const health = cfg.Healthcheck;
    if (health) { // CF:960-971
        state.healthcheck = [{
            test: list(health.Test), interval: durationString(health.Interval ?? 0), timeout: durationString(health.Timeout ?? 0),
            start_period: durationString(health.StartPeriod ?? 0), start_interval: durationString(health.StartInterval ?? 0),
            retries: health.Retries ?? 0,
        }];
    }
    // CF:815-826: a stopped container with must_run=true is written back as must_run=false.
    if (!inspect.State.Running && config.must_run !== false) state.must_run = false;
    return state;
}

/** What the network Read (NF:160-203) writes from `GET /networks/{id}`. */
export function readNetwork(inspect: any): Attributes {
    return {
        name: inspect.Name,
        labels: toLabelSet(inspect.Labels),
        driver: inspect.Driver,
        internal: inspect.Internal,
        attachable: inspect.Attachable,
        ingress: inspect.Ingress,
        ipv6: inspect.EnableIPv6,
        ipam_driver: inspect.IPAM.Driver,
        ipam_options: map(inspect.IPAM.Options), // NF:183
        options: map(inspect.Options),
        ipam_config: list(inspect.IPAM.Config).map((c: any) => ({ subnet: c.Subnet ?? "", gateway: c.Gateway ?? "", ip_range: c.IPRange ?? "", aux_address: c.AuxiliaryAddresses ?? {} })),
    };
}

/** What the volume Read (V:288-313) writes from `GET /volumes/{name}`. */
export function readVolume(inspect: any): Attributes {
    return { name: inspect.Name, labels: toLabelSet(inspect.Labels), driver: inspect.Driver, driver_opts: map(inspect.Options) };
}

/**
 * The state after Create: what was configured, overwritten by what Read sets
 * (SDK ResourceData keeps planned values Read does not touch).
 */
export function stateAfterCreate(config: Attributes, read: Attributes): Attributes {
    return { ...config, ...read };
}

// ---------------------------------------------------------------------------
// Diff.

export interface Change {
    /** Terraform attribute name. */
    readonly attribute: string;
    /** "replace": ForceNew or replaceOnChanges; "update": Update runs; "ignored-update": Update runs and applies nothing (CF:1016-1019). */
    readonly kind: "replace" | "update" | "ignored-update";
    readonly state: Value;
    readonly config: Value;
}

export interface DiffOptions {
    /** The resource's `ignoreChanges` (Pulumi property names). */
    readonly ignoreChanges?: readonly string[];
    /** The resource's `replaceOnChanges` (Pulumi property names). */
    readonly replaceOnChanges?: readonly string[];
}

function isZero(value: Value): boolean {
    if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
    if (Array.isArray(value)) return value.length === 0;
    if (typeof value === "object") return Object.keys(value as object).length === 0;
    return false;
}

/** Nested attributes that are sets (capabilities add/drop C:271-286, networks_advanced aliases C:926): their order is no change. */
const NESTED_SETS = new Set(["add", "drop", "aliases", "link_local_ips"]);

/** A canonical text of a value: sets order-free, lists (a healthcheck's test) in order, scalars as the SDK's strings. */
function canonical(value: Value, unordered: boolean): string {
    if (Array.isArray(value)) {
        const items = value.map((item) => canonical(item, false));
        return `[${(unordered ? items.sort() : items).join(",")}]`;
    }
    if (value && typeof value === "object") {
        const record = value as Record<string, Value>;
        return `{${Object.keys(record).sort().map((k) => `${k}:${canonical(record[k], NESTED_SETS.has(k))}`).join(",")}}`;
    }
    return JSON.stringify(value === undefined || value === null ? "" : String(value));
}

/**
 * Lists what a `pulumi up` would change, comparing the declared configuration with the
 * state, as the SDK's schemaMap.Diff does per attribute (SDK diffString: a config that
 * omits an attribute compares as the type's zero value, and a Computed attribute the
 * config omits is no change; Default fills an omitted value), then as the bridge and
 * engine apply the resource options: `ignoreChanges` deletes the attribute's diff
 * (pulumi-terraform-bridge pkg/tfshim/sdk-v2/instance_diff.go processIgnoreChanges),
 * `replaceOnChanges` turns any change of the property into a replacement.
 */
export function diff(schema: Record<string, AttributeSchema>, config: Attributes, state: Attributes, options: DiffOptions = {}, updatable?: Set<string>, providerOnly?: Set<string>): Change[] {
    const ignored = new Set((options.ignoreChanges ?? []).map(tfName));
    const replaceOn = new Set((options.replaceOnChanges ?? []).map(tfName));
    const changes: Change[] = [];
    for (const attribute of new Set([...Object.keys(config), ...Object.keys(state)])) {
        const spec = schema[attribute];
        if (!spec) throw new Error(`e2e provider model: attribute "${attribute}" is not in the model's schema`);
        let wanted = config[attribute] ?? spec.default;
        // A Default is planned into the state (SDK schemaMap.Diff), so a state without the key holds it.
        const have = state[attribute] ?? spec.default;
        if (wanted === undefined) {
            // An omitted string compares as "", which a DiffSuppressFunc for "" suppresses.
            if (spec.computed || isZero(have) || spec.emptyIsNoChange) continue;
        } else {
            if (spec.emptyIsNoChange && wanted === "") continue;
            if (spec.blockDefaults) wanted = (wanted as Record<string, Value>[]).map((block) => ({ ...spec.blockDefaults, ...block }));
            if (isZero(wanted) && isZero(have)) continue;
            if (canonical(wanted, spec.type === "set") === canonical(have, spec.type === "set")) continue;
        }
        if (ignored.has(attribute)) continue;
        const kind = spec.forceNew || replaceOn.has(attribute) ? "replace"
            : !updatable || updatable.has(attribute) || providerOnly?.has(attribute) ? "update" : "ignored-update";
        changes.push({ attribute, kind, state: have, config: wanted });
    }
    return changes;
}

/** A container's diff, with the provider's Update semantics. */
export function diffContainer(config: Attributes, state: Attributes, options: DiffOptions = {}): Change[] {
    return diff(CONTAINER_SCHEMA, config, state, options, CONTAINER_UPDATABLE, CONTAINER_PROVIDER_ONLY);
}

export function diffNetwork(config: Attributes, state: Attributes, options: DiffOptions = {}): Change[] {
    return diff(NETWORK_SCHEMA, config, state, options);
}

export function diffVolume(config: Attributes, state: Attributes, options: DiffOptions = {}): Change[] {
    return diff(VOLUME_SCHEMA, config, state, options);
}
