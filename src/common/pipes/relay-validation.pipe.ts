import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { RequestValidationError, ValidationIssue } from '../errors';
import { nestingDepth } from '../json-depth';

const CONSTRAINT_TYPES: Record<string, string> = {
  isString: 'string_type',
  isInt: 'int_type',
  isNumber: 'float_type',
  isBoolean: 'bool_type',
  isObject: 'dict_type',
  isArray: 'list_type',
  isIn: 'enum',
  isEnum: 'enum',
  matches: 'string_pattern_mismatch',
  minLength: 'string_too_short',
  maxLength: 'string_too_long',
  min: 'greater_than_equal',
  max: 'less_than_equal',
  arrayMinSize: 'too_short',
  arrayMaxSize: 'too_long',
  arrayNotEmpty: 'too_short',
  isDefined: 'missing',
  isNotEmpty: 'missing',
  whitelistValidation: 'extra_forbidden',
};

/** Type checks are reported before range checks (class-validator lists them in reverse). */
const PRIMARY_CONSTRAINTS = [
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isObject',
  'isArray',
];

type Location = 'body' | 'query' | 'path';

function flatten(
  errors: ValidationError[],
  location: Location,
  parent: Array<string | number>,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const key = /^\d+$/.test(error.property) ? Number(error.property) : error.property;
    const loc = [...parent, key];
    const constraints = Object.entries(error.constraints ?? {});
    if (constraints.length > 0) {
      const missing = error.value === undefined;
      const [name, msg] =
        constraints.find(([n]) => PRIMARY_CONSTRAINTS.includes(n)) ?? constraints[0];
      issues.push({
        loc,
        msg: missing ? 'Field required' : msg,
        type: missing ? 'missing' : (CONSTRAINT_TYPES[name] ?? 'value_error'),
      });
    }
    if (error.children?.length) issues.push(...flatten(error.children, location, loc));
  }
  return issues;
}

function locationOf(metadata: ArgumentMetadata): Location {
  if (metadata.type === 'param') return 'path';
  if (metadata.type === 'query') return 'query';
  return 'body';
}

/**
 * class-validator with the contract's 422 list form (`loc` starting with `body`/`query`/`path`).
 * Unknown fields are stripped, as upstream ignores them.
 */
@Injectable()
export class RelayValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidUnknownValues: false,
      validationError: { target: false, value: true },
      exceptionFactory: (errors) => new PendingValidation(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const location = locationOf(metadata);
    const isDto = typeof metadata.metatype === 'function' && this.toValidate(metadata);
    if (
      isDto &&
      location === 'body' &&
      (typeof value !== 'object' || value === null || Array.isArray(value))
    ) {
      throw RequestValidationError.single(['body'], 'Input should be a valid object', 'dict_type');
    }
    if (isDto && location === 'body' && nestingDepth(value, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      throw RequestValidationError.single(['body'], 'Input is nested too deeply', 'value_error');
    }
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (error instanceof PendingValidation) {
        throw new RequestValidationError(flatten(error.errors, location, [location]));
      }
      throw error;
    }
  }
}

/** class-transformer recurses per level; far deeper bodies would overflow the stack. */
const MAX_BODY_DEPTH = 100;

class PendingValidation extends Error {
  constructor(readonly errors: ValidationError[]) {
    super('validation failed');
  }
}
