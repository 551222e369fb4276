// A real OAuth2 authorization server for fhirgate's upstream OAuth2 client tests:
// oidc-provider with the client_credentials grant and two clients.
//
// Environment:
//   OIDC_BASIC_SECRET  secret of client `fhirgate-basic` (client_secret_basic)
//   OIDC_JWKS          JSON Web Key Set with the public key(s) of client `fhirgate-jwt`
//                      (private_key_jwt, RS384 or ES384), passed in by the test
//   OIDC_TTL           access token lifetime in seconds (default 600)
// Listens on 127.0.0.1 port 0 and prints its issuer URL as one line on stdout. The token
// endpoint is `${issuer}/token`, introspection `${issuer}/token/introspection`.
import http from 'node:http';
import Provider from 'oidc-provider';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const jwks = JSON.parse(process.env.OIDC_JWKS ?? '{"keys":[]}');
  const common = {
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'system/*.rs system/*.cruds',
  };
  const provider = new Provider(issuer, {
    clients: [
      { ...common, client_id: 'fhirgate-basic', client_secret: process.env.OIDC_BASIC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: 'fhirgate-jwt', token_endpoint_auth_method: 'private_key_jwt', jwks },
    ],
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'] },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
    },
    scopes: ['system/*.rs', 'system/*.cruds'],
    ttl: { ClientCredentials: Number(process.env.OIDC_TTL ?? 600) },
  });
  provider.on('grant.error', (ctx, err) => process.stderr.write(`grant.error ${err.message} ${err.error_description ?? ''}\n`));
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});
