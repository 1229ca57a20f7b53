import { Global, Module } from '@nestjs/common';
import { FastPath } from './fast-path';

/** The publish hot path (see `FastPath`); feature modules register their routes with it. */
@Global()
@Module({ providers: [FastPath], exports: [FastPath] })
export class FastPathModule {}
