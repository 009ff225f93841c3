import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { JWT_SECRET } from './jwt-secret.js';
import type { AccessTokenPayload } from './auth.service.js';
import type { Principal } from './principal.js';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(@Inject(JWT_SECRET) secret: string) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: secret,
      ignoreExpiration: false,
    });
  }

  /** Refresh tokens are not access tokens; passport turns `false` into a 401. */
  validate(payload: AccessTokenPayload): Principal | false {
    if (payload.typ !== 'access') return false;
    return { kind: 'user', userId: payload.sub, role: payload.role, tenantId: payload.tenantId };
  }
}
