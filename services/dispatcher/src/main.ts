import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { ProvidersModule } from './providers/providers.module';
import { dispatcherServiceSendingThrough } from './service';

void runService(dispatcherServiceSendingThrough(ProvidersModule));
