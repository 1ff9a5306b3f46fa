// A real OpenID provider (npm oidc-provider) for Convoy's single sign-on tests. It signs in the
// account named by POST /test/next-user without a form (login and consent are granted at once),
// so browsers and the device flow run unattended. Settings come from the environment:
// PORT, KEY_ID (a fresh RSA key under that id: a new id is a key rotation), ID_TOKEN_TTL
// (seconds), ACCOUNTS ({"alice": {"email": ..., "groups": [...]}}), UI_REDIRECT (the UI's
// callback URL).
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
let nextUser = Object.keys(accounts)[0];

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: process.env.KEY_ID || 'one', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [
    {
      client_id: 'convoy-ui',
      token_endpoint_auth_method: 'none',
      redirect_uris: [process.env.UI_REDIRECT || 'http://127.0.0.1/auth/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    {
      // A native client: its loopback redirect may use any port (RFC 8252).
      client_id: 'convoy-cli',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code'],
      response_types: ['code'],
    },
    {
      client_id: 'another-app',
      token_endpoint_auth_method: 'none',
      redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
    },
  ],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'], profile: ['name'] },
  scopes: ['openid', 'email', 'groups', 'profile'],
  // The claims in the ID token itself (the server reads no userinfo).
  conformIdTokenClaims: false,
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL || 3600), AccessToken: 3600, DeviceCode: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: {
      enabled: true,
      // Confirm the code at once: the test plays the user.
      async userCodeConfirmSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html><body>${form}<script>document.getElementById('op.deviceConfirmForm').submit()</script></body></html>`;
      },
      async successSource(ctx) {
        ctx.body = '<!DOCTYPE html><html><body><h1 id="device-done">Signed in</h1></body></html>';
      },
    },
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: true, groups: account.groups || [], name: id };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
};

const provider = new Provider(issuer, configuration);

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/test/next-user') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    nextUser = Buffer.concat(chunks).toString().trim();
    ctx.body = `next user: ${nextUser}`;
    return;
  }
  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: nextUser } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.redirect(returnTo);
    return;
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
