// What @baton-auth/server shares with the verifier, so the two speak one vocabulary: the words
// themselves (vocabulary.ts: algorithms, token types and length, claims, error codes), the JWT
// checks, the verified-token cache, the bearer challenge, the Redis URL and connection, and
// the revocation channel's wire format. Meant for the server package; applications use the other entry points.
export {
  errorCodes,
  errorStatuses,
  maxTokenLength,
  signingAlgorithms,
  tokenTypes,
  type AccessTokenClaims,
  type ErrorCode,
  type SignedAccessTokenClaims,
  type SigningAlgorithm,
  type VerifyErrorCode,
} from './vocabulary.js'
export { claimsProblem, headerProblem } from './jwt-checks.js'
export { VerifiedTokenCache } from './verified-token-cache.js'
export {
  bearerTokenOf,
  forbiddenTokenHeaders,
  headerExample,
  insufficientScopeChallenge,
  invalidTokenChallenge,
  malformedTokenHeader,
  tokenHeaderName,
  tokenOfHeader,
} from './middleware/bearer-challenge.js'
export { ConfigError } from './errors.js'
export {
  describeNodes,
  parseRedisUrl,
  type RedisNode,
  type RedisTarget,
} from './redis/redis-url.js'
export {
  createRedisClient,
  defaultKeyPrefix,
  keyPrefixOf,
  type RedisClient,
  type RedisClientOptions,
} from './redis/connection.js'
export {
  channelNames,
  channelTarget,
  decodeMessage,
  encodeMessage,
  type ChannelNames,
  type RevocationMessage,
} from './revocation/channel.js'
