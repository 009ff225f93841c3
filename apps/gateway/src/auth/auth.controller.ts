import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AuthService } from './auth.service.js';

const LoginDto = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
const RefreshDto = z.object({ refreshToken: z.string().min(1) });

@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  login(
    @Body(new ZodPipe(LoginDto)) body: z.infer<typeof LoginDto>,
    @Req() request: FastifyRequest,
  ) {
    return this.auth.login(body.email, body.password, request.ip);
  }

  @Post('refresh')
  @HttpCode(200)
  refresh(@Body(new ZodPipe(RefreshDto)) body: z.infer<typeof RefreshDto>) {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Body(new ZodPipe(RefreshDto)) body: z.infer<typeof RefreshDto>): Promise<void> {
    await this.auth.logout(body.refreshToken);
  }
}
