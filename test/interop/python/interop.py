"""Drives authtoken-server through authlib, the way a Python partner or app would.

Prints one JSON object of what the library saw; the jest test (test/integration/interop-python.test.ts)
starts the server, passes what this needs in the environment, and asserts on the output.

Environment:
  INTEROP_ISSUER                            the server's issuer URL (every endpoint comes from discovery)
  INTEROP_CLIENT_ID, INTEROP_CLIENT_SECRET  a confidential client: client credentials, password grant, refresh
  INTEROP_SCOPE, INTEROP_REFUSED_SCOPE      scopes for client credentials, and one the client may not have
  INTEROP_KEY_CLIENT_ID                     a private_key_jwt client, whose public key is registered
  INTEROP_KEY_CLIENT_PRIVATE_KEY            its RSA private key (PEM)
  INTEROP_USER, INTEROP_PASSWORD            an account without a second factor
  INTEROP_MFA_USER, INTEROP_MFA_PASSWORD    an account with a second factor

Each step's outcome goes into the output, failures included: the exit status is non-zero only when the
program could not run at all.
"""

import json
import os
import sys
import time

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.discovery import OpenIDProviderMetadata

TIMEOUT_SECONDS = 10


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"interop.py: {name} is not set")
    return value


def token_findings(token):
    """What the library made of a token response (an OAuth2Token, a dict)."""
    return {
        "token": {
            "access_token": token.get("access_token"),
            "token_type": token.get("token_type"),
            "refresh_token": token.get("refresh_token"),
            "scope": token.get("scope"),
            "expires_in": token.get("expires_in"),
            "has_expires_at": token.get("expires_at") is not None,
            "is_expired": token.is_expired(leeway=0),
        }
    }


def attempt(request, *args, **kwargs):
    """Makes a token request through the library; an error is recorded as the library raised it."""
    try:
        return token_findings(request(*args, **kwargs))
    except OAuthError as error:
        return {"error": {"oauth_error": True, "error": error.error, "description": error.description}}
    except Exception as error:  # anything else is a finding too: the library could not read the answer
        return {"error": {"oauth_error": False, "type": type(error).__name__, "message": str(error)}}


def http_findings(response):
    """introspect_token and revoke_token give the requests Response itself."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return {"status": response.status_code, "body": body}


def main():
    issuer = env("INTEROP_ISSUER")
    client_id, client_secret = env("INTEROP_CLIENT_ID"), env("INTEROP_CLIENT_SECRET")
    scope = env("INTEROP_SCOPE")
    user, password = env("INTEROP_USER"), env("INTEROP_PASSWORD")
    mfa_user, mfa_password = env("INTEROP_MFA_USER"), env("INTEROP_MFA_PASSWORD")
    findings = {}

    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT_SECONDS)
    discovery.raise_for_status()
    metadata = OpenIDProviderMetadata(discovery.json())
    try:
        metadata.validate()
        findings["discovery"] = {"valid": True}
    except ValueError as error:
        findings["discovery"] = {"valid": False, "message": str(error)}
    token_endpoint = metadata["token_endpoint"]
    introspection_endpoint = metadata["introspection_endpoint"]
    revocation_endpoint = metadata["revocation_endpoint"]
    findings["endpoints"] = {
        "issuer": metadata["issuer"],
        "token": token_endpoint,
        "introspection": introspection_endpoint,
        "revocation": revocation_endpoint,
    }

    def session(method, secret=client_secret, **kwargs):
        return OAuth2Session(
            client_id,
            secret,
            token_endpoint_auth_method=method,
            token_endpoint=token_endpoint,
            default_timeout=TIMEOUT_SECONDS,
            **kwargs,
        )

    # Client credentials, with the secret in the Authorization header and in the body.
    basic = session("client_secret_basic", scope=scope)
    findings["client_secret_basic"] = attempt(basic.fetch_token, grant_type="client_credentials")
    post = session("client_secret_post", scope=scope)
    findings["client_secret_post"] = attempt(post.fetch_token, grant_type="client_credentials")

    # RFC 7662 and RFC 7009 through the library: introspect, revoke, introspect again.
    if "token" in findings["client_secret_basic"]:
        access_token = findings["client_secret_basic"]["token"]["access_token"]
        findings["introspected"] = http_findings(
            basic.introspect_token(introspection_endpoint, token=access_token)
        )
        findings["revoked"] = http_findings(
            basic.revoke_token(revocation_endpoint, token=access_token, token_type_hint="access_token")
        )
        findings["introspected_after_revocation"] = http_findings(
            basic.introspect_token(introspection_endpoint, token=access_token)
        )

    # private_key_jwt: the library signs the client assertion with the client's key (RS256, its default).
    key_client = OAuth2Session(
        env("INTEROP_KEY_CLIENT_ID"),
        env("INTEROP_KEY_CLIENT_PRIVATE_KEY"),
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint=token_endpoint,
        scope=scope.split()[0],
        default_timeout=TIMEOUT_SECONDS,
    )
    key_client.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    findings["private_key_jwt"] = attempt(key_client.fetch_token, grant_type="client_credentials")
    if "token" in findings["private_key_jwt"]:
        findings["private_key_jwt_introspected"] = http_findings(
            key_client.introspect_token(
                introspection_endpoint, token=findings["private_key_jwt"]["token"]["access_token"]
            )
        )

    # The password grant, an explicit refresh, then the refresh the library does itself on an expired token.
    app = session("client_secret_basic", scope="api:read offline_access")
    findings["password"] = attempt(app.fetch_token, username=user, password=password)
    if "token" in findings["password"]:
        findings["refreshed"] = attempt(app.refresh_token, token_endpoint)

        def refresh_when_expired():
            app.token["expires_at"] = int(time.time()) - 60
            app.ensure_active_token()
            return app.token

        findings["refreshed_when_expired"] = attempt(refresh_when_expired)

    # Errors arrive as OAuthError with the RFC 6749 code.
    refused = session("client_secret_basic", scope=f"{scope} {env('INTEROP_REFUSED_SCOPE')}")
    findings["refused_scope"] = attempt(refused.fetch_token, grant_type="client_credentials")
    for method in ("client_secret_basic", "client_secret_post"):
        wrong = session(method, secret="not-the-secret", scope=scope)
        findings[f"wrong_secret_{method}"] = attempt(wrong.fetch_token, grant_type="client_credentials")
    findings["wrong_password"] = attempt(app.fetch_token, username=user, password="not the password")

    # OAuthError keeps only error and error_description: an app reads mfa_token from the response itself,
    # through the library's hook for token responses.
    mfa_app = session("client_secret_basic", scope="api:read")
    seen = {}

    def keep_mfa_token(response):
        if response.status_code == 403:
            seen["mfa_token"] = response.json().get("mfa_token")
        return response

    mfa_app.register_compliance_hook("access_token_response", keep_mfa_token)
    findings["mfa"] = attempt(mfa_app.fetch_token, username=mfa_user, password=mfa_password)
    findings["mfa"]["mfa_token"] = seen.get("mfa_token")

    json.dump(findings, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
