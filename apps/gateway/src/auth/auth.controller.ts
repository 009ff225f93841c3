import { Body, Controller, HttpCode, Post } from '@nestjs/common';
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
  login(@Body(new ZodPipe(LoginDto)) body: z.infer<typeof LoginDto>) {
    return this.auth.login(body.email, body.password);
  }

  @Post('refresh')
  @HttpCode(200)
  refresh(@Body(new ZodPipe(RefreshDto)) body: z.infer<typeof RefreshDto>) {
    return this.auth.refresh(body.refreshToken);
  }
}
