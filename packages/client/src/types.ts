/** `POST /auth/signup` and `POST /auth/login` take these. */
export interface Credentials {
  email: string
  password: string
}

/** The user of a token response. */
export interface User {
  id: string
  email: string
  roles: string[]
}

/** `GET /auth/me`. */
export interface Me extends User {
  /** ISO-8601. */
  createdAt: string
}

/** One entry of `GET /auth/sessions`: a signed-in device. Timestamps are ISO-8601. */
export interface Session {
  id: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  ip: string | null
  userAgent: string | null
  /** The session this client is signed in with. */
  current: boolean
}

/** What signup and login resolve to. The refresh token never appears here. */
export interface SignedIn {
  user: User
  sessionId: string
  accessToken: string
  /** Seconds the access token is valid for, as the server said. */
  expiresIn: number
}

/** The server's token response (docs/api.md, "TokenResponse"). */
export interface TokenResponse {
  accessToken: string
  tokenType: string
  expiresIn: number
  refreshToken?: string
  refreshExpiresIn: number
  sessionId: string
  user: User
}
