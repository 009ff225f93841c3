import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { json, NO_CONTENT, type RouteSpecs } from '../docs/route-spec.js';
import { TokenPair } from '../docs/view-schemas.js';
import { AuthService } from './auth.service.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

const LoginDto = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
const RefreshDto = z.object({ refreshToken: z.string().min(1) });

export const authRouteSpecs: RouteSpecs = {
  'POST /api/auth/login': {
    summary: 'Log in with email and password; returns {accessToken, refreshToken}',
    body: LoginDto,
    responses: { 200: json('Tokens', TokenPair) },
    errors: [429],
  },
  'POST /api/auth/refresh': {
    summary: 'Exchange a refresh token for new tokens',
    body: RefreshDto,
    responses: { 200: json('Tokens', TokenPair) },
    errors: [429],
  },
  'POST /api/auth/logout': {
    summary: 'Revoke a refresh token',
    body: RefreshDto,
    responses: { 204: NO_CONTENT },
    errors: [429],
  },
};

@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly budget: UnauthenticatedBudget,
  ) {}

  @Post('login')
  @HttpCode(200)
  login(
    @Body(new ZodPipe(LoginDto)) body: z.infer<typeof LoginDto>,
    @Req() request: FastifyRequest,
  ) {
    return this.auth.login(body.email, body.password, request.clientIp);
  }

  // Refresh and logout look an unauthenticated token up in PostgreSQL: each call spends from
  // the client IP's unauthenticated budget first.
  @Post('refresh')
  @HttpCode(200)
  refresh(
    @Body(new ZodPipe(RefreshDto)) body: z.infer<typeof RefreshDto>,
    @Req() request: FastifyRequest,
  ) {
    this.budget.spend(request.clientIp);
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(
    @Body(new ZodPipe(RefreshDto)) body: z.infer<typeof RefreshDto>,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    this.budget.spend(request.clientIp);
    await this.auth.logout(body.refreshToken);
  }
}
