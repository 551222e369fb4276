// A real OAuth2 authorization server for fhirgate's upstream OAuth2 client tests:
// oidc-provider with the client_credentials grant and two clients.
//
// Environment:
//   OIDC_BASIC_SECRET  secret of client `fhirgate-basic` (client_secret_basic)
//   OIDC_JWKS          JSON Web Key Set with the public key(s) of client `fhirgate-jwt`
//                      (private_key_jwt, RS384 or ES384), passed in by the test
//   OIDC_TTL           access token lifetime in seconds (default 600)
// Resource-server mode for fhirgate's SMART tests (off unless OIDC_RESOURCE is set):
//   OIDC_RESOURCE      audience of the access tokens (RFC 8707 resource indicator); the
//                      tokens are then JWTs (or opaque, see TOKEN_FORMAT) with SMART scopes
//   TOKEN_FORMAT       jwt (default) or opaque (then only introspection can read them)
//   OIDC_TOKEN_ALG     RS256 (default) or ES256: the access token signing algorithm
//   OIDC_PATIENT       adds a `patient` claim (SMART launch context) to access tokens
// Listens on 127.0.0.1 port 0 and prints its issuer URL as one line on stdout. The token
// endpoint is `${issuer}/token`, introspection `${issuer}/token/introspection`.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const smartScopes = ['system/*.rs', 'system/*.cruds', 'patient/*.rs', 'launch/patient'];
// Resource-server mode: signing keys of both kinds, and SMART access tokens for OIDC_RESOURCE.
function resourceServerConfig() {
  const resource = process.env.OIDC_RESOURCE;
  if (!resource) return {};
  const jwk = (type, options, alg) => ({
    ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }), alg, use: 'sig',
  });
  const patient = process.env.OIDC_PATIENT;
  return {
    jwks: { keys: [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256')] },
    extraTokenClaims: async () => (patient ? { patient } : undefined),
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: smartScopes.join(' '),
        audience: resource,
        accessTokenFormat: process.env.TOKEN_FORMAT === 'opaque' ? 'opaque' : 'jwt',
        jwt: { sign: { alg: process.env.OIDC_TOKEN_ALG ?? 'RS256' } },
      }),
    },
  };
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const jwks = JSON.parse(process.env.OIDC_JWKS ?? '{"keys":[]}');
  const common = {
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: process.env.OIDC_RESOURCE ? smartScopes.join(' ') : 'system/*.rs system/*.cruds',
  };
  const { jwks: signingKeys, extraTokenClaims, resourceIndicators } = resourceServerConfig();
  const provider = new Provider(issuer, {
    clients: [
      { ...common, client_id: 'fhirgate-basic', client_secret: process.env.OIDC_BASIC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: 'fhirgate-jwt', token_endpoint_auth_method: 'private_key_jwt', jwks },
    ],
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'] },
    ...(signingKeys ? { jwks: signingKeys, extraTokenClaims } : {}),
    features: {
      ...(resourceIndicators ? { resourceIndicators } : {}),
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
    },
    scopes: process.env.OIDC_RESOURCE ? smartScopes : ['system/*.rs', 'system/*.cruds'],
    ttl: { ClientCredentials: Number(process.env.OIDC_TTL ?? 600) },
  });
  provider.on('grant.error', (ctx, err) => process.stderr.write(`grant.error ${err.message} ${err.error_description ?? ''}\n`));
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});
