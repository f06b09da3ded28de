/** Copy-paste examples for one credential: get an AuthToken with it, then call an API with the token. */
export interface CodeSnippets {
  curl: string;
  node: string;
  python: string;
}

export function tokenSnippets(tokenEndpoint: string, clientId: string, clientSecret: string, scope: string): CodeSnippets {
  const quote = (value: string) => value.replace(/'/g, "'\\''");
  return {
    curl: [
      `curl -s -u '${quote(clientId)}:${quote(clientSecret)}' \\`,
      `  -d grant_type=client_credentials -d 'scope=${quote(scope)}' \\`,
      `  ${tokenEndpoint}`,
    ].join('\n'),
    node: [
      `const response = await fetch(${JSON.stringify(tokenEndpoint)}, {`,
      `  method: 'POST',`,
      `  headers: {`,
      `    authorization: 'Basic ' + Buffer.from(${JSON.stringify(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}).toString('base64'),`,
      `    'content-type': 'application/x-www-form-urlencoded',`,
      `  },`,
      `  body: new URLSearchParams({ grant_type: 'client_credentials', scope: ${JSON.stringify(scope)} }),`,
      `});`,
      `const { access_token: authToken } = await response.json();`,
    ].join('\n'),
    python: [
      `import requests`,
      ``,
      `response = requests.post(`,
      `    ${JSON.stringify(tokenEndpoint)},`,
      `    auth=(${JSON.stringify(clientId)}, ${JSON.stringify(clientSecret)}),`,
      `    data={"grant_type": "client_credentials", "scope": ${JSON.stringify(scope)}},`,
      `)`,
      `auth_token = response.json()["access_token"]`,
    ].join('\n'),
  };
}
