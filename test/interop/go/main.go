// Command interop drives authtoken-server through golang.org/x/oauth2, the way a Go partner or app would, and
// prints one JSON object of what the library saw. The jest test (test/integration/interop-go.test.ts) starts
// the server, passes what this needs in the environment, and asserts on the output.
//
// Environment:
//
//	INTEROP_ISSUER                          the server's issuer URL (the token endpoint comes from discovery)
//	INTEROP_CLIENT_ID, INTEROP_CLIENT_SECRET a confidential client: client credentials, password grant, refresh
//	INTEROP_SCOPE                           scopes for client credentials (space separated)
//	INTEROP_REFUSED_SCOPE                   a scope the client may not have
//	INTEROP_RESOURCE, INTEROP_RESOURCE_SCOPE an API identifier (RFC 8707 resource) and one of its scopes
//	INTEROP_USER, INTEROP_PASSWORD          an account without a second factor
//	INTEROP_MFA_USER, INTEROP_MFA_PASSWORD  an account with a second factor
//
// Each step's outcome goes into the output, failures included: the exit status is non-zero only when the
// program could not run at all.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenFindings is what the library made of a token response.
type tokenFindings struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	RefreshToken string  `json:"refresh_token,omitempty"`
	ExpiresIn    float64 `json:"expires_in"`
	Scope        any     `json:"scope"`
	Valid        bool    `json:"valid"`
}

// errorFindings is what the library made of an error response (or the Go error, when it was no RetrieveError).
type errorFindings struct {
	RetrieveError    bool           `json:"retrieve_error"`
	ErrorCode        string         `json:"error_code,omitempty"`
	ErrorDescription string         `json:"error_description,omitempty"`
	Status           int            `json:"status,omitempty"`
	Body             map[string]any `json:"body,omitempty"`
	GoError          string         `json:"go_error"`
}

// outcome is one step: a token or an error.
type outcome struct {
	Token *tokenFindings `json:"token,omitempty"`
	Error *errorFindings `json:"error,omitempty"`
}

func record(token *oauth2.Token, err error) outcome {
	if err != nil {
		return outcome{Error: describeError(err)}
	}
	return outcome{Token: describeToken(token)}
}

func describeToken(token *oauth2.Token) *tokenFindings {
	return &tokenFindings{
		AccessToken:  token.AccessToken,
		TokenType:    token.Type(),
		RefreshToken: token.RefreshToken,
		ExpiresIn:    time.Until(token.Expiry).Round(time.Second).Seconds(),
		Scope:        token.Extra("scope"),
		Valid:        token.Valid(),
	}
}

func describeError(err error) *errorFindings {
	findings := &errorFindings{GoError: err.Error()}
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) {
		findings.RetrieveError = true
		findings.ErrorCode = retrieve.ErrorCode
		findings.ErrorDescription = retrieve.ErrorDescription
		if retrieve.Response != nil {
			findings.Status = retrieve.Response.StatusCode
		}
		var body map[string]any
		if json.Unmarshal(retrieve.Body, &body) == nil {
			findings.Body = body
		}
	}
	return findings
}

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fmt.Fprintf(os.Stderr, "interop: %s is not set\n", name)
		os.Exit(2)
	}
	return value
}

// tokenEndpoint reads the token endpoint from the issuer's discovery document (RFC 8414 / OIDC discovery).
func tokenEndpoint(ctx context.Context, client *http.Client, issuer string) (string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	response, err := client.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	var metadata struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(response.Body).Decode(&metadata); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if metadata.Issuer != issuer || metadata.TokenEndpoint == "" {
		return "", fmt.Errorf("discovery: issuer %q, token_endpoint %q", metadata.Issuer, metadata.TokenEndpoint)
	}
	return metadata.TokenEndpoint, nil
}

func main() {
	issuer := env("INTEROP_ISSUER")
	clientID, clientSecret := env("INTEROP_CLIENT_ID"), env("INTEROP_CLIENT_SECRET")
	scopes := strings.Fields(env("INTEROP_SCOPE"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	httpClient := &http.Client{Timeout: 10 * time.Second}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, httpClient)

	tokenURL, err := tokenEndpoint(ctx, httpClient, issuer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}

	clientCredentials := func(style oauth2.AuthStyle, secret string, scopes []string, params map[string][]string) outcome {
		config := clientcredentials.Config{
			ClientID:       clientID,
			ClientSecret:   secret,
			TokenURL:       tokenURL,
			Scopes:         scopes,
			EndpointParams: params,
			AuthStyle:      style,
		}
		return record(config.Token(ctx))
	}

	findings := map[string]any{"token_endpoint": tokenURL}
	findings["client_credentials_header"] = clientCredentials(oauth2.AuthStyleInHeader, clientSecret, scopes, nil)
	findings["client_credentials_params"] = clientCredentials(oauth2.AuthStyleInParams, clientSecret, scopes, nil)
	findings["client_credentials_auto_detect"] = clientCredentials(oauth2.AuthStyleAutoDetect, clientSecret, scopes, nil)
	findings["client_credentials_resource"] = clientCredentials(oauth2.AuthStyleInHeader, clientSecret,
		[]string{env("INTEROP_RESOURCE_SCOPE")}, map[string][]string{"resource": {env("INTEROP_RESOURCE")}})
	findings["refused_scope"] = clientCredentials(oauth2.AuthStyleInHeader, clientSecret, append(scopes, env("INTEROP_REFUSED_SCOPE")), nil)
	findings["wrong_secret_header"] = clientCredentials(oauth2.AuthStyleInHeader, "not-the-secret", scopes, nil)
	findings["wrong_secret_params"] = clientCredentials(oauth2.AuthStyleInParams, "not-the-secret", scopes, nil)
	// Auto-detection tries the header, then the body: both refused, the library reports the last answer.
	findings["wrong_secret_auto_detect"] = clientCredentials(oauth2.AuthStyleAutoDetect, "not-the-secret", scopes, nil)

	app := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:       []string{"api:read", "offline_access"},
	}
	signedIn, err := app.PasswordCredentialsToken(ctx, env("INTEROP_USER"), env("INTEROP_PASSWORD"))
	findings["password"] = record(signedIn, err)
	if err == nil {
		// The app's token source refreshes once the access token has expired: make it look expired now.
		expired := *signedIn
		expired.Expiry = time.Now().Add(-time.Minute)
		source := app.TokenSource(ctx, &expired)
		refreshed, err := source.Token()
		findings["refreshed"] = record(refreshed, err)
		// A second call answers from the token source's cache: the refreshed token is valid now.
		again, err := source.Token()
		findings["refreshed_again"] = record(again, err)
	}

	_, err = app.PasswordCredentialsToken(ctx, env("INTEROP_MFA_USER"), env("INTEROP_MFA_PASSWORD"))
	if err == nil {
		findings["mfa"] = outcome{Error: &errorFindings{GoError: "the password grant succeeded without a second factor"}}
	} else {
		findings["mfa"] = outcome{Error: describeError(err)}
	}

	output := json.NewEncoder(os.Stdout)
	output.SetIndent("", "  ")
	if err := output.Encode(findings); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
}
