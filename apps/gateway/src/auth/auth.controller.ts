import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AuthService } from './auth.service.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

const LoginDto = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
const RefreshDto = z.object({ refreshToken: z.string().min(1) });

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
