// Type-checked against the installed package by types.test.mjs (`tsc --noEmit`, strict, both
// `moduleResolution: nodenext` and `bundler`). Never run. Each @ts-expect-error must be an error, so the
// declarations are not `any`.
import init, {
  AuthClient,
  authFetch,
  configure,
  initSync,
  isAuthFetchError,
  isReady,
  ready,
  state,
} from 'authfetch';
import type {
  AuthClaims,
  AuthFailureInfo,
  AuthFetchError,
  AuthFetchErrorCode,
  AuthFetchInit,
  AuthFetchOptions,
  AuthState,
  AuthTokens,
  DiagnosticCode,
  DiagnosticEvent,
  RefreshInfo,
} from 'authfetch';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Assert<T extends true> = T;
type Not<T extends boolean> = T extends true ? false : true;
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export type NoAny = [
  Assert<Not<IsAny<AuthFetchOptions>>>,
  Assert<Not<IsAny<AuthState>>>,
  Assert<Not<IsAny<DiagnosticEvent>>>,
  Assert<Not<IsAny<AuthFetchError>>>,
  Assert<Not<IsAny<ReturnType<typeof state>>>>,
  Assert<Not<IsAny<ReturnType<AuthClient['state']>>>>,
  Assert<Equals<ReturnType<typeof state>, AuthState>>,
  Assert<Equals<ReturnType<AuthClient['state']>, AuthState>>,
  Assert<Equals<ReturnType<typeof authFetch>, Promise<Response>>>,
  Assert<Equals<ReturnType<AuthClient['fetch']>, Promise<Response>>>,
  Assert<Equals<ReturnType<AuthClient['refresh']>, Promise<boolean>>>,
  Assert<Equals<ReturnType<typeof ready>, Promise<void>>>,
  Assert<Equals<AuthState['expiresAt'], number | null>>,
  Assert<Equals<AuthState['claims'], AuthClaims | null>>,
  Assert<Equals<AuthState['lastDiagnostic'], DiagnosticEvent | null>>,
  Assert<Equals<AuthFetchError['code'], AuthFetchErrorCode>>,
];

export async function usage(): Promise<void> {
  await init();
  await authFetch("/api/x");
  await init({ module_or_path: new URL('https://cdn.example.com/authfetch_bg.wasm') });
  await ready();
  const isReadyNow: boolean = isReady();
  void isReadyNow;
  initSync({ module: new Uint8Array() });

  const options: AuthFetchOptions = {
    storage: 'memory',
    accessTokenKey: 'at',
    refreshTokenKey: 'rt',
    refreshUrl: 'https://auth.example.com/oauth/token',
    refreshFormat: 'oauth2',
    clientId: 'spa',
    refreshCredentials: 'include',
    headerName: 'Authorization',
    scheme: 'Bearer',
    allowedOrigins: ['https://api.example.com'],
    refreshLeeway: 30,
    refreshTimeout: 10_000,
    logLevel: 'debug',
    fetch: globalThis.fetch,
    onRefresh: (info: RefreshInfo) => {
      const trigger: 'expiring' | 'unauthorized' | 'manual' | 'missing' = info.trigger;
      const at: number | undefined = info.expiresAt;
      void trigger, at;
    },
    onAuthFailure: (info: AuthFailureInfo) => {
      if (info.reason === 'refresh_rejected') console.log(info.message, info.status);
    },
    onDiagnostic: (event) => {
      const code: DiagnosticCode = event.code;
      if (event.code === 'unauthorized' && event.token) console.log(event.token.fingerprint, event.token.isJwt, event.challenge);
      const lines: string[] = event.evidence;
      void code, lines;
    },
  };
  configure(options);

  // @ts-expect-error: not a storage
  configure({ storage: 'disk' });
  // @ts-expect-error: unknown option (did you mean refreshUrl?)
  configure({ refreshURL: '/x' });
  // @ts-expect-error: allowedOrigins is an array
  configure({ allowedOrigins: 'https://api.example.com' });
  // @ts-expect-error: refreshLeeway is a number
  new AuthClient({ refreshLeeway: '30' });

  const init2: AuthFetchInit = { method: 'POST', body: JSON.stringify({ a: 1 }), skipAuth: false };
  const res: Response = await authFetch('/api/x', init2);
  await authFetch(new URL('https://api.example.com/x'));
  await authFetch(new Request('https://api.example.com/x'), { skipAuth: true });
  // @ts-expect-error: skipAuth is a boolean
  await authFetch('/api/x', { skipAuth: 'yes' });
  void res;

  const client = new AuthClient({ storage: 'memory', allowedOrigins: ['https://api.example.com'] });
  const fresh = new AuthClient();
  void fresh;
  const tokens: AuthTokens = { accessToken: 'a', refreshToken: null };
  client.setTokens(tokens);
  client.setTokens({ accessToken: 'a' });
  // @ts-expect-error: accessToken is required
  client.setTokens({ refreshToken: 'r' });
  const refreshed: boolean = await client.refresh();
  void refreshed;
  client.clearTokens();

  const snapshot = client.state();
  const storage: string = snapshot.storage;
  const expiresIn: number | null = snapshot.expiresIn;
  const scope: string | undefined = snapshot.claims?.scope;
  const requests: number = snapshot.counts.requests + snapshot.counts.unauthorized + snapshot.counts.refreshes + snapshot.counts.refreshFailures;
  const last: string | undefined = snapshot.lastDiagnostic?.message;
  const flags: boolean[] = [snapshot.hasAccessToken, snapshot.hasRefreshToken, snapshot.isJwt, snapshot.refreshInFlight];
  void storage, expiresIn, scope, requests, last, flags;
  const top: AuthState = state();
  void top;

  try {
    configure({ logLevel: 'silent' });
  } catch (error: unknown) {
    if (isAuthFetchError(error)) {
      const code: AuthFetchErrorCode = error.code;
      const name: 'AuthFetchError' = error.name;
      // @ts-expect-error: not an error code
      const wrong: typeof error.code = 'bad_code';
      void code, name, wrong;
    }
  }
}
