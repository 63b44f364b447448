import { Command } from 'commander'
import { print, printTable } from './database-command.js'
import { printJson, storeOptions, when, withEngine, type EngineOptions } from './engine-command.js'

/** `baton sessions …`: a user's signed-in devices, and signing them out. */
export function sessionsCommand(): Command {
  const command = new Command('sessions').description(
    "List and revoke users' sessions. A revocation is deny-listed in the session store and announced on the revocation channel, as the server's.",
  )
  const sub = (name: string, description: string): Command => {
    const created = command.command(name).description(description)
    for (const option of storeOptions()) created.addOption(option)
    return created
  }

  sub('list', "A user's live sessions, most recently used first.")
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(options, async (baton) => {
        const sessions = await baton.admin.listSessions(user)
        if (options.json === true) {
          return printJson(
            sessions.map((session) => ({
              id: session.id,
              userId: session.userId,
              createdAt: session.createdAt,
              lastUsedAt: session.lastUsedAt,
              expiresAt: session.expiresAt,
              ip: session.ip,
              userAgent: session.userAgent,
              clientId: session.clientId,
              scope: session.scope,
            })),
          )
        }
        printTable(
          ['SESSION', 'CREATED', 'LAST USED', 'IP', 'CLIENT', 'USER AGENT'],
          sessions.map((session) => [
            session.id,
            when(session.createdAt),
            when(session.lastUsedAt),
            session.ip ?? '-',
            session.clientId ?? '/auth',
            (session.userAgent ?? '-').slice(0, 60),
          ]),
        )
      }),
    )

  sub('revoke', 'Sign one session out.')
    .argument('<session>', "the session id (baton sessions list, or an access token's sid)")
    .option('--user <user>', 'its user, by id or email; found from the session when left out')
    .action((session: string, options: EngineOptions & { user?: string }) =>
      withEngine(options, async (baton) => {
        let userId: string
        if (options.user === undefined) {
          userId = await baton.admin.revokeSessionById(session, 'cli')
        } else {
          userId = (await baton.admin.getUser(options.user)).id
          await baton.admin.revokeSession(userId, session, 'cli')
        }
        if (options.json === true) return printJson({ revoked: session, userId })
        const user = await baton.admin.getUser(userId).catch(() => null)
        print(`Revoked session ${session} of ${user?.email ?? userId}.`)
      }),
    )

  sub('revoke-all', 'Sign every session of a user out.')
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(options, async (baton) => {
        const count = await baton.admin.revokeAllSessions(user, 'cli')
        if (options.json === true) return printJson({ revoked: count })
        print(`Revoked ${count} sessions.`)
      }),
    )

  return command
}
