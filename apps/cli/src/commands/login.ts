import { MaasApiError, MaasClient } from '@maas/sdk';
import { type CommandSpec, UsageError } from '../args.js';
import { configPath } from '../config.js';
import { CliError, type Context, USER_AGENT } from '../context.js';

export const loginCommands: CommandSpec<Context>[] = [
  {
    path: ['login'],
    args: [],
    options: [
      {
        name: 'email',
        value: 'EMAIL',
        description: 'log in with an account (prompts for the password)',
      },
      {
        name: 'password-stdin',
        description: 'read the password from stdin instead of prompting',
      },
    ],
    summary: 'Store the gateway URL and an API key (or an account login)',
    description:
      'Checks the credential against the gateway, then keeps it in ~/.config/maas/config.json\n' +
      '($MAAS_CONFIG_DIR or $XDG_CONFIG_HOME/maas), readable by you only (mode 0600).\n' +
      'MAAS_URL and MAAS_API_KEY in the environment override what is stored. An account\n' +
      "login (a platform admin's, for 'maas admin ...') keeps its refresh token too.",
    examples: [
      'maas login --url http://127.0.0.1:3000 --api-key maas_ab12...',
      'maas login --url http://127.0.0.1:3000 --email admin@maas.local',
    ],
    async run(ctx, { options }) {
      const apiKey = options['api-key'] as string | undefined;
      const email = options.email as string | undefined;
      if (Boolean(apiKey) === Boolean(email)) {
        throw new UsageError('give either --api-key KEY or --email EMAIL');
      }
      const url = (options.url as string | undefined) ?? ctx.io.env.MAAS_URL;
      if (!url) throw new UsageError('--url is required (or set MAAS_URL)');
      const previous = await ctx.readConfig();
      // Another gateway's credentials mean nothing on this one.
      const kept = previous.url === url ? previous : {};
      const client = new MaasClient({ baseUrl: url, headers: { 'user-agent': USER_AGENT } });
      if (apiKey) {
        client.setApiKey(apiKey);
        try {
          await client.models.list({ limit: 1 });
        } catch (error) {
          // 403: a valid key without models:read (e.g. an inference-only key) is fine to keep.
          if (!(error instanceof MaasApiError && error.status === 403)) throw error;
        }
        const path = await ctx.saveConfig({ ...kept, url, apiKey });
        if (ctx.json) ctx.printJson({ url, credential: 'apiKey', config: path });
        else
          ctx.out(`Logged in to ${url} with API key ${apiKey.slice(0, 12)}… (saved in ${path})\n`);
        return;
      }
      const password = options['password-stdin']
        ? await ctx.ask('')
        : await ctx.ask('Password: ', { hidden: true });
      if (!password) throw new CliError('no password given');
      const tokens = await client.auth.login(email!, password);
      const path = await ctx.saveConfig({
        ...kept,
        url,
        session: {
          email: email!,
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          ...(tokens.expiresIn !== undefined && {
            expiresAt: new Date(Date.now() + tokens.expiresIn * 1000).toISOString(),
          }),
        },
      });
      if (ctx.json) ctx.printJson({ url, credential: 'session', email, config: path });
      else ctx.out(`Logged in to ${url} as ${email} (saved in ${path})\n`);
    },
  },
  {
    path: ['logout'],
    args: [],
    options: [],
    summary: 'Forget the stored credentials (and end the account session)',
    async run(ctx) {
      const config = await ctx.readConfig();
      if (config.session && config.url) {
        // Spending the refresh token ends the session on the gateway too; offline is fine.
        await new MaasClient({ baseUrl: config.url }).auth
          .logout(config.session.refreshToken)
          .catch(() => undefined);
      }
      const path = await ctx.saveConfig(config.url ? { url: config.url } : {});
      if (ctx.json) ctx.printJson({ loggedOut: true, config: path });
      else ctx.out(`Logged out (${configPath(ctx.io.env)})\n`);
    },
  },
];
