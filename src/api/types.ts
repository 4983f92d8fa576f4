/**
 * Engine-API JSON shapes mybuild's daemon sends and its client reads (the subset of Docker's
 * keys both sides use).
 */

/** One Docker JSON progress message (build, pull, push, load streams). */
export interface JsonMessage {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { message: string; code?: number };
  /** mybuild's error code (src/errors.ts), so the client's exit code matches daemonless. */
  errorCode?: string;
  /** mybuild's hint of the error (also at the end of `errorDetail.message`, for the docker CLI). */
  errorHint?: string;
}

/** A `GET /images/json` entry. */
export interface ApiImage {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
  /** With `?manifests=1` (API 1.47): what the name points at (an index for a multi-platform image). */
  Descriptor?: { mediaType: string; digest: string; size: number };
  /** With `?manifests=1` (API 1.47): the image's entries (a single-platform image: itself). */
  Manifests?: ApiImageManifest[];
}

/** Docker API 1.47's ImageManifestSummary: an entry of a multi-platform image. */
export interface ApiImageManifest {
  ID: string;
  Descriptor: { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } };
  Available: boolean;
  Size: { Total: number; Content: number };
  Kind: 'image' | 'attestation' | 'unknown';
  ImageData?: { Platform: { os: string; architecture: string; variant?: string }; Containers: string[]; Size: { Unpacked: number } };
}

/** A `GET /containers/json` entry. */
export interface ApiContainer {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  /** Unix seconds. */
  Created: number;
  State: 'created' | 'running' | 'exited';
  Status: string;
  /** Docker's port entries (PublicPort set for a published port). */
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string>;
  Mounts: unknown[];
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
}

/** The part of `GET /containers/{id}/json` the client reads. */
export interface ApiContainerInspect {
  Id: string;
  Created: string;
  Name: string;
  State: { Status: 'created' | 'running' | 'exited'; ExitCode: number; StartedAt: string; FinishedAt: string };
  Config: { Cmd: string[]; Image: string };
}

/** The `GET /version` document's keys the client prints. */
export interface ApiVersion {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
  GoVersion: string;
}
