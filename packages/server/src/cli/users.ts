import { Command } from 'commander'
import type { AdminUserView } from '../core/users/admin-service.js'
import { sessionJson, userJson } from '../server/admin-views.js'
import { limitOf, storeOptions, when, withEngine, type EngineOptions } from './engine-command.js'
import { CommandError, count, print, printJson, printTable } from './output.js'
import { readNewPassword } from './password-input.js'

/** `baton users …`: accounts, their roles and whether they may sign in. */
export function usersCommand(): Command {
  const command = new Command('users').description(
    'List, create and change user accounts: roles, disabling, deleting. A user is named by id or email.',
  )
  const sub = (name: string, description: string): Command => {
    const created = command.command(name).description(description)
    for (const option of storeOptions()) created.addOption(option)
    return created
  }

  sub('list', 'List users, oldest first, a page at a time.')
    .option('--email <text>', 'only addresses containing this')
    .option('--limit <n>', 'users per page (1-200)', '50')
    .option('--cursor <cursor>', 'the page after this cursor (printed under the previous page)')
    .action((options: EngineOptions & { email?: string; limit?: string; cursor?: string }) =>
      withEngine(options, async (baton) => {
        const page = await baton.admin.listUsers({
          limit: limitOf(options.limit, 50, 200),
          cursor: options.cursor,
          email: options.email,
        })
        if (options.json === true) {
          return printJson({ users: page.items.map(userJson), next: page.next })
        }
        printTable(
          ['ID', 'EMAIL', 'ROLES', 'CREATED', 'STATUS'],
          page.items.map((user) => [
            user.id,
            user.email,
            user.roles.join(','),
            when(user.createdAt),
            status(user),
          ]),
        )
        if (page.next !== null) print(`more: --cursor ${page.next}`)
      }),
    )

  sub('show', 'Show one user and their live sessions.')
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(
        options,
        async (baton) => {
          const found = await baton.admin.getUser(user)
          const sessions = await baton.admin.listSessions(found.id)
          if (options.json === true) {
            return printJson({ ...userJson(found), sessions: sessions.map(sessionJson) })
          }
          printTable(
            ['FIELD', 'VALUE'],
            [
              ['id', found.id],
              ['email', found.email],
              ['roles', found.roles.join(',') || '(none)'],
              ['created', when(found.createdAt)],
              ['status', status(found)],
              ['email verified', when(found.emailVerifiedAt)],
              ['password changed', when(found.passwordChangedAt)],
              ['live sessions', String(sessions.length)],
            ],
          )
        },
        { sessions: true },
      ),
    )

  sub(
    'create',
    'Create a user (the first administrator: --role admin). The password is read from a hidden prompt, or from the first line of standard input; never from the command line. Makes the database when there is none yet, and says so.',
  )
    .requiredOption('--email <email>', 'the address to sign in with')
    .option('--role <role...>', 'roles (repeat or list); default: user')
    .option(
      '--verified',
      'mark the address as verified (needed to sign in with BATON_REQUIRE_VERIFIED_EMAIL)',
    )
    .action((options: EngineOptions & { email: string; role?: string[]; verified?: boolean }) => {
      let password = ''
      return withEngine(
        options,
        async (baton) => {
          const roles = splitRoles(options.role ?? ['user'])
          const user = await baton.admin.createUser(
            { email: options.email, password, roles, emailVerified: options.verified === true },
            'cli',
          )
          if (options.json === true) return printJson(userJson(user))
          print(
            `Created ${user.email} (${user.id}) with roles ${user.roles.join(',') || '(none)'}.`,
          )
        },
        {
          // The first administrator may come before the server's first start.
          mayCreate: true,
          // Before the stores open: a password that never came makes no new database.
          beforeOpen: async () => {
            password = await readNewPassword()
          },
        },
      )
    })

  sub(
    'set-roles',
    'Replace a user’s roles. Tokens carry them from the session’s next refresh; an access token in hand keeps its roles until it expires.',
  )
    .argument('<user>', 'id or email')
    .argument('<roles...>', 'the roles, space- or comma-separated (none: "")')
    .action((user: string, roles: string[], options: EngineOptions) =>
      withEngine(options, async (baton) => {
        const changed = await baton.admin.setRoles(user, splitRoles(roles), 'cli')
        if (options.json === true) return printJson(userJson(changed))
        print(`${changed.email} now has roles ${changed.roles.join(',') || '(none)'}.`)
      }),
    )

  sub('disable', 'Stop a user from signing in, and sign out every session of theirs now.')
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(
        options,
        async (baton) => {
          const result = await baton.admin.disable(user, 'cli')
          if (options.json === true) {
            return printJson({
              user: userJson(result.user),
              sessionsRevoked: result.sessionsRevoked,
            })
          }
          print(
            `Disabled ${result.user.email}; ${count(result.sessionsRevoked, 'session')} signed out.`,
          )
        },
        { sessions: true },
      ),
    )

  sub('enable', 'Let a disabled user sign in again.')
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(options, async (baton) => {
        const enabled = await baton.admin.enable(user, 'cli')
        if (options.json === true) return printJson(userJson(enabled))
        print(`Enabled ${enabled.email}.`)
      }),
    )

  sub('delete', 'Delete a user after signing out their sessions. Their audit events stay.')
    .argument('<user>', 'id or email')
    .option('--yes', 'do it: deleting cannot be undone')
    .action((user: string, options: EngineOptions & { yes?: boolean }) =>
      withEngine(
        options,
        async (baton) => {
          if (options.yes !== true) {
            throw new CommandError(`deleting ${user} cannot be undone: add --yes to do it`)
          }
          const result = await baton.admin.deleteUser(user, 'cli')
          // The admin API answers 204, with no body; this says what it did.
          if (options.json === true) return printJson({ sessionsRevoked: result.sessionsRevoked })
          print(`Deleted ${user}; ${count(result.sessionsRevoked, 'session')} signed out.`)
        },
        { sessions: true },
      ),
    )

  return command
}

function status(user: AdminUserView): string {
  return user.disabledAt === null ? 'active' : `disabled ${when(user.disabledAt)}`
}

function splitRoles(values: string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((role) => role.trim())
    .filter(Boolean)
}
