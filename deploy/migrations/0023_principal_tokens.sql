-- 0023 supervisors log in to kefu-metrics' dashboard (HTTP) with a bearer
-- token. kefuctl principal add ... --token (or kefuctl principal token ID)
-- prints the token once; only its SHA-256 (hex) is kept, so a copy of the
-- database does not give anyone a login. A principal may have a key, a
-- token or both; disabling it (disabled_at) ends both.
ALTER TABLE principals ADD COLUMN token_sha256 text UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$');
COMMENT ON COLUMN principals.token_sha256 IS
    'SHA-256 (hex) of the principal''s dashboard token; NULL: no token';
