import { randomBytes } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ProxyTrust } from '@maas/app-runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { ApiKeyService } from './api-key.service.js';
import { AuthController } from './auth.controller.js';
import { CacheInvalidationService } from './cache-invalidation.service.js';
import { AuthService } from './auth.service.js';
import { AdminGuard, TenantAuthenticator, TenantAuthGuard } from './guards.js';
import { JWT_SECRET } from './jwt-secret.js';
import { JwtStrategy } from './jwt.strategy.js';
import { LoginAttemptsService } from './login-attempts.service.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

// Without a configured secret, tokens are valid only for this process (fine for one local gateway).
const PROCESS_SECRET = randomBytes(32).toString('hex');
// Who sent a request: the same trusted-proxy list Fastify was given (main.ts), for the
// inference hot path that runs ahead of Fastify.
const proxyTrustProvider = {
  provide: ProxyTrust,
  inject: [GATEWAY_CONFIG],
  useFactory: (config: GatewayConfig) => new ProxyTrust(config.TRUST_PROXY),
};
const jwtSecretProvider = {
  provide: JWT_SECRET,
  inject: [GATEWAY_CONFIG],
  useFactory: (config: GatewayConfig) => config.JWT_SECRET ?? PROCESS_SECRET,
};

@Global()
@Module({
  imports: [
    PassportModule,
    JwtModule.registerAsync({
      extraProviders: [jwtSecretProvider],
      inject: [JWT_SECRET],
      useFactory: (secret: string) => ({ secret, signOptions: { algorithm: 'HS256' } }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    jwtSecretProvider,
    AuthService,
    ApiKeyService,
    JwtStrategy,
    LoginAttemptsService,
    UnauthenticatedBudget,
    proxyTrustProvider,
    CacheInvalidationService,
    AdminGuard,
    TenantAuthenticator,
    TenantAuthGuard,
  ],
  exports: [
    ProxyTrust,
    UnauthenticatedBudget,
    ApiKeyService,
    AuthService,
    CacheInvalidationService,
    AdminGuard,
    TenantAuthenticator,
    TenantAuthGuard,
  ],
})
export class AuthModule {}
