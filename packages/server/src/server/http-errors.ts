import { errorStatuses } from '@baton-auth/verify/shared'
import type { BatonErrorCode } from '../core/errors.js'

/** An error code's HTTP status (docs/errors.md), from the one table both packages share. */
export const httpStatusOf: Readonly<Record<BatonErrorCode, number>> = errorStatuses

/** Seconds a client should wait after a 503 before retrying. */
export const storeUnavailableRetryAfter = 1
