// A real OpenID Connect provider for the web tests: npm's oidc-provider with its built-in development login
// pages (any login name is accepted; the name becomes the subject and the preferred_username claim).
// Usage: node provider.mjs <port> <client_id> <client_secret> <redirect_uri>
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: { openid: ["sub"], profile: ["preferred_username", "name"], email: ["email"] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: `sub-${id}`, preferred_username: id, name: id, email: `${id}@example.vn` };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
