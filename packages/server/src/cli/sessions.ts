import { Command } from 'commander'
import { sessionJson } from '../server/admin-views.js'
import { storeOptions, when, withEngine, type EngineOptions } from './engine-command.js'
import { count, print, printJson, printTable, shortUserAgent } from './output.js'

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
      withEngine(
        options,
        async (baton) => {
          const sessions = await baton.admin.listSessions(user)
          if (options.json === true) return printJson({ sessions: sessions.map(sessionJson) })
          printTable(
            ['SESSION', 'CREATED', 'LAST USED', 'IP', 'CLIENT', 'USER AGENT'],
            sessions.map((session) => [
              session.id,
              when(session.createdAt),
              when(session.lastUsedAt),
              session.ip ?? '-',
              session.clientId ?? '/auth',
              shortUserAgent(session.userAgent),
            ]),
          )
        },
        { sessions: true },
      ),
    )

  sub('revoke', 'Sign one session out.')
    .argument(
      '<session>',
      "the session id (baton sessions list, or an access token's sid); after -- when it starts with -",
    )
    .option('--user <user>', 'its user, by id or email; found from the session when left out')
    .action((session: string, options: EngineOptions & { user?: string }) =>
      withEngine(
        options,
        async (baton) => {
          let userId: string
          if (options.user === undefined) {
            userId = await baton.admin.revokeSessionById(session, 'cli')
          } else {
            userId = (await baton.admin.getUser(options.user)).id
            await baton.admin.revokeSession(userId, session, 'cli')
          }
          // DELETE /admin/sessions/:session's answer.
          if (options.json === true) return printJson({ sessionId: session, userId })
          const user = await baton.admin.getUser(userId).catch(() => null)
          print(`Revoked session ${session} of ${user?.email ?? userId}.`)
        },
        { sessions: true },
      ),
    )

  sub('revoke-all', 'Sign every session of a user out.')
    .argument('<user>', 'id or email')
    .action((user: string, options: EngineOptions) =>
      withEngine(
        options,
        async (baton) => {
          const revoked = await baton.admin.revokeAllSessions(user, 'cli')
          if (options.json === true) return printJson({ revoked })
          print(`Revoked ${count(revoked, 'session')}.`)
        },
        { sessions: true },
      ),
    )

  return command
}
