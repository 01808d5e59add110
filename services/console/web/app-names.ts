import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** app_id → the apps file's name (DESIGN §6); an app it does not name shows its id. */
export type AppNames = ReadonlyMap<string, string>;
export const AppNamesContext = createContext<AppNames>(new Map());
export const useAppName = () => {
  const names = useContext(AppNamesContext);
  return (appId: string) => names.get(appId) ?? appId;
};
export const useAppIds = () => [...useContext(AppNamesContext).keys()];
