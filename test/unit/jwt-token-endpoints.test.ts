import introspectionStack from 'oidc-provider/lib/actions/introspection.js';
import revocationStack from 'oidc-provider/lib/actions/revocation.js';
import rejectStructuredTokens from 'oidc-provider/lib/shared/reject_structured_tokens.js';

import '../../src/provider/jwt-token-endpoints.js';

describe("JWT answers take the place of oidc-provider's structured-token refusal", () => {
  // oidc-provider copies these stacks into its router when a Provider is built: the swap must be done by then,
  // which importing the module does. If a new oidc-provider version moved the refusal, the import throws.
  test.each([
    ['introspection', introspectionStack],
    ['revocation', revocationStack],
  ])('the %s route no longer holds the refusal, and holds our middleware in its place', (_, stack) => {
    expect(stack).not.toContain(rejectStructuredTokens);
    expect(stack.map((middleware) => middleware.name)).toContain('answerStructuredTokens');
  });
});
