/**
 * The hostile authorization server's metadata: by default a correct FAPI 2.0 server (Message
 * Signing, RFC 9207 `iss`, DPoP, request-object encryption), plus the mTLS aliases and
 * certificate-bound tokens when it runs with TLS.
 */
export function hostileMetadata(
  issuer: string,
  mtlsOrigin: string | undefined,
): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    userinfo_endpoint: `${issuer}/userinfo`,
    scopes_supported: ['openid'],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'jwt', 'query.jwt', 'form_post.jwt'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    authorization_details_types_supported: ['payment_initiation', 'account_information'],
    revocation_endpoint: `${issuer}/revoke`,
    subject_types_supported: ['public'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [
      'private_key_jwt',
      ...(mtlsOrigin === undefined ? [] : ['tls_client_auth', 'self_signed_tls_client_auth']),
    ],
    token_endpoint_auth_signing_alg_values_supported: ['PS256', 'ES256'],
    request_object_signing_alg_values_supported: ['PS256', 'ES256'],
    request_object_encryption_alg_values_supported: ['RSA-OAEP-256'],
    request_object_encryption_enc_values_supported: ['A256GCM'],
    authorization_signing_alg_values_supported: ['PS256', 'ES256'],
    id_token_signing_alg_values_supported: ['PS256', 'ES256'],
    dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
    authorization_response_iss_parameter_supported: true,
    require_pushed_authorization_requests: false,
    ...(mtlsOrigin === undefined
      ? {}
      : {
          tls_client_certificate_bound_access_tokens: true,
          mtls_endpoint_aliases: {
            token_endpoint: `${mtlsOrigin}/token`,
            pushed_authorization_request_endpoint: `${mtlsOrigin}/par`,
            userinfo_endpoint: `${mtlsOrigin}/userinfo`,
          },
        }),
  }
}
