import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../packages/server/src/core/config/config.js'
import type { BatonError } from '../../packages/server/src/core/errors.js'
import { ScopePolicy } from '../../packages/server/src/core/oauth/scope-policy.js'

const policy = new ScopePolicy(
  loadConfig({ BATON_SCOPES: 'read write admin:users=admin|ops billing=finance' }).scopes,
)

function codeOf(action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    return (error as BatonError).code
  }
  return undefined
}

describe('ScopePolicy', () => {
  it('lists every configured scope', () => {
    expect(policy.supported).toEqual(['read', 'write', 'admin:users', 'billing'])
  })

  describe('grant (password grant)', () => {
    it('grants nothing when nothing is asked for', () => {
      expect(policy.grant(undefined, ['user'])).toBe('')
      expect(policy.grant('', ['admin'])).toBe('')
    })

    it('grants open scopes to anyone and role scopes to any of their roles', () => {
      expect(policy.grant('read write', ['user'])).toBe('read write')
      expect(policy.grant('admin:users read', ['user', 'ops'])).toBe('admin:users read')
      expect(policy.grant('read  read', [])).toBe('read')
    })

    it('refuses a scope of a role the user lacks, an unknown scope and malformed input', () => {
      expect(codeOf(() => policy.grant('read admin:users', ['user']))).toBe('invalid_scope')
      expect(codeOf(() => policy.grant('delete', ['admin']))).toBe('invalid_scope')
      expect(codeOf(() => policy.grant('read\twrite', ['user']))).toBe('invalid_scope')
      expect(codeOf(() => policy.grant('say"hi"', ['user']))).toBe('invalid_scope')
    })
  })

  describe('narrow (refresh grant, before anything changes)', () => {
    it('is null when no scope is asked for', () => {
      expect(policy.narrow(undefined, 'read write')).toBeNull()
      expect(policy.narrow('', 'read write')).toBeNull()
    })

    it('accepts any subset of the grant, and refuses anything wider', () => {
      expect(policy.narrow('write', 'read write')).toEqual(['write'])
      expect(policy.narrow('write read', 'read write')).toEqual(['write', 'read'])
      expect(codeOf(() => policy.narrow('read billing', 'read write'))).toBe('invalid_scope')
      expect(codeOf(() => policy.narrow('read', ''))).toBe('invalid_scope')
    })
  })

  describe('effective (the access token of a refresh)', () => {
    it('is the grant, or the narrowed request, as the roles allow it now', () => {
      expect(policy.effective('read admin:users', null, ['admin'])).toBe('read admin:users')
      expect(policy.effective('read admin:users', ['admin:users'], ['admin'])).toBe('admin:users')
      // The role was taken away: the scope is dropped, the rest stays.
      expect(policy.effective('read admin:users', null, ['user'])).toBe('read')
      expect(policy.effective('read admin:users', ['admin:users'], ['user'])).toBe('')
    })

    it('drops a scope no longer configured', () => {
      const fewer = new ScopePolicy(loadConfig({ BATON_SCOPES: 'write' }).scopes)
      expect(fewer.effective('read write', null, ['user'])).toBe('write')
    })

    it('never adds what the grant lacks', () => {
      expect(policy.effective('read', ['read', 'write'], ['user'])).toBe('read')
      expect(policy.effective('', null, ['admin'])).toBe('')
    })
  })
})
