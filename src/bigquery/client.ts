import { BigQuery } from '@google-cloud/bigquery';

import { InvalidOptionError } from '../errors.ts';

export interface EmulatorClientOptions {
  /** Base URL of the emulator's REST API, such as `http://127.0.0.1:9050`. */
  readonly apiEndpoint: string;
  /** Project the emulator serves. */
  readonly projectId: string;
}

/**
 * Stands in for Google's auth client when talking to an emulator. Without it (or
 * METADATA_SERVER_DETECTION=none), google-auth-library looks for credentials by probing the cloud
 * metadata server at 169.254.169.254, even when `apiEndpoint` points at the emulator.
 */
const emulatorAuthClient = {
  getAccessToken: async () => ({ token: 'emulator' }),
  getRequestHeaders: async () => new Headers({ authorization: 'Bearer emulator' }),
  getProjectId: async () => 'emulator',
  getClient: async function (this: unknown) {
    return this;
  },
  request: async () => {
    throw new Error('the emulator auth client makes no requests of its own');
  },
};

/**
 * Creates a BigQuery client for an emulator on this machine. It sends no credentials and never
 * contacts Google or the cloud metadata server.
 */
export function createEmulatorClient(options: EmulatorClientOptions): BigQuery {
  let endpoint: URL;
  try {
    endpoint = new URL(options.apiEndpoint);
  } catch {
    throw new InvalidOptionError('apiEndpoint', options.apiEndpoint, 'an http:// URL of the emulator');
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    throw new InvalidOptionError('apiEndpoint', options.apiEndpoint, 'an http:// URL of the emulator');
  }
  return new BigQuery({
    projectId: options.projectId,
    apiEndpoint: options.apiEndpoint.replace(/\/$/, ''),
    authClient: emulatorAuthClient as never,
    // Tributary's row writer retries inserts itself. The client's own retries would add about
    // 15 seconds to each insert that the emulator fails with HTTP 500.
    autoRetry: false,
  });
}
