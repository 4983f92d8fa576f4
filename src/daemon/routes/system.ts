/**
 * System endpoints: `/_ping` (GET and HEAD), `GET /version`, `GET /info`.
 *
 * `_ping` answers `Builder-Version: 1` so the docker CLI takes the legacy builder path (a tar
 * body to POST /build) rather than BuildKit's session protocol.
 */
import os from 'node:os';
import { readdir } from 'node:fs/promises';
import { packageVersion } from '../../api/version.js';
import { runtimeFacts } from '../../runtime/facts.js';
import { sendJson } from '../http.js';
import type { DaemonState, Route } from '../server.js';
import { API_VERSION, MIN_API_VERSION } from '../server.js';
import { storeLayout } from '../../store/layout.js';

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

/** The `GET /version` document (Docker's shape; Engine component = mybuild). */
export function versionInfo(): Record<string, unknown> {
  const version = packageVersion();
  const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Arch: goArch(), Os: 'linux', KernelVersion: os.release(), GitCommit: '', GoVersion: `node ${process.version}`, BuildTime: '', Experimental: 'false' };
  return {
    Platform: { Name: 'mybuild' },
    Components: [{ Name: 'Engine', Version: version, Details: details }],
    Version: version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: os.release(),
    BuildTime: '',
  };
}

/** The `GET /info` document: counts from the store and the containers, host facts. */
export async function systemInfo(state: DaemonState): Promise<Record<string, unknown>> {
  const { images, dangling } = await state.images.listImages();
  // Every image ID, untagged ones too (dockerd's count, the same set GET /images/json lists).
  const ids = new Set([...images, ...dangling].map((s) => s.image.configDigest));
  const containers = await state.containers.list(true).catch(() => []);
  const running = containers.filter((c) => c.state.status === 'running').length;
  const snapshots = await readdir(storeLayout(state.root).snapshots).then((e) => e.length, () => 0);
  const facts = await runtimeFacts(storeLayout(state.root).snapshots);
  return {
    ID: `mybuild-${os.hostname()}`,
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: ids.size,
    Driver: facts.snapshotter,
    // mybuild's own fields (the docker CLI ignores them); Docker says rootless in SecurityOptions.
    Rootless: facts.rootless,
    DefaultNetwork: facts.network,
    SecurityOptions: facts.rootless ? ['name=rootless'] : [],
    DriverStatus: [
      ['Store root', state.root],
      ['Snapshots', String(snapshots)],
    ],
    Plugins: { Volume: [], Network: ['default', 'host', 'none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: false,
    SwapLimit: false,
    CpuCfsPeriod: false,
    CpuCfsQuota: false,
    IPv4Forwarding: false,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'none',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: `mybuild daemon on ${os.type()}`,
    OSVersion: '',
    OSType: 'linux',
    Architecture: os.machine?.() ?? process.arch,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: state.root,
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: packageVersion(),
    Runtimes: { runc: { path: 'runc' } },
    DefaultRuntime: 'runc',
    Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    Warnings: [],
  };
}

export const systemRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/_ping$/,
    handle: async ({ req, res }) => {
      const body = req.method === 'HEAD' ? '' : 'OK';
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'API-Version': API_VERSION,
        OSType: 'linux',
        'Builder-Version': '1',
        'Docker-Experimental': 'false',
        'Cache-Control': 'no-cache, no-store, must-revalidate',
        Pragma: 'no-cache',
      });
      res.end(body);
    },
  },
  { method: 'GET', pattern: /^\/version$/, handle: async ({ res }) => sendJson(res, 200, versionInfo()) },
  { method: 'GET', pattern: /^\/info$/, handle: async ({ res, state }) => sendJson(res, 200, await systemInfo(state)) },
];
