/** The registry client: references live in src/image/reference.ts; this is pull, push, login. */
export { pull, fetchBlob, classifyManifest, type PullOptions, type PullResult, type RefSetter, type TransferProgress } from './pull.js';
export { push, type PushOptions, type PushResult } from './push.js';
export { RegistryClient, MANIFEST_ACCEPT, repoScope, type ClientOptions, type FetchedManifest, type RequestOptions } from './client.js';
export { Transport, isLoopback, isListedInsecure, defaultCertsDir, insecureRegistriesFromEnv, retryAfterMs, type TransportOptions, type HttpResponse } from './transport.js';
export { parseWwwAuthenticate, loadCredentials, storeCredentials, eraseCredentials, dockerConfigPath, configKey, TokenCache, type Challenge, type Credentials } from './auth.js';
export { BlobSources } from './blob-sources.js';
export { hostPlatform, formatPlatform, platformMatches, pickManifest } from '../oci/platform.js';
export { parsePlatform } from './platform.js';
