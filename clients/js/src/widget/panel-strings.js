// The start form's strings (the panel before a room exists), loaded with the panel.
// The room UI inside the panel has its own tables (clients/js/src/i18n).

const T = {
  en: {
    title: "Shop with friends",
    intro: "Invite friends to one shared cart: they see what you are looking at, vote and chat, on any phone.",
    looking: "You are looking at",
    name: "Your name",
    start: "Start a shared cart",
    close: "Close",
    roomName: "{name}'s shopping",
    unreachable: "Cannot reach the shopping-room service from this site.",
    failed: "Could not start a room. Please try again.",
    kicked: "You were removed from that room.",
    gone: "That room is no longer available. Start a new one.",
  },
  de: {
    title: "Mit Freunden shoppen",
    intro: "Lade Freunde in einen gemeinsamen Warenkorb ein: Sie sehen, was du dir ansiehst, stimmen ab und chatten – auf jedem Handy.",
    looking: "Du siehst dir an:",
    name: "Dein Name",
    start: "Gemeinsamen Warenkorb starten",
    close: "Schließen",
    roomName: "Einkauf von {name}",
    unreachable: "Der Dienst für gemeinsames Einkaufen ist von dieser Seite aus nicht erreichbar.",
    failed: "Der Raum konnte nicht gestartet werden. Bitte erneut versuchen.",
    kicked: "Du wurdest aus diesem Raum entfernt.",
    gone: "Dieser Raum ist nicht mehr verfügbar. Starte einen neuen.",
  },
  fr: {
    title: "Acheter entre amis",
    intro: "Invitez vos amis dans un panier partagé : ils voient ce que vous regardez, votent et discutent, sur n'importe quel téléphone.",
    looking: "Vous regardez :",
    name: "Votre nom",
    start: "Créer un panier partagé",
    close: "Fermer",
    roomName: "Les achats de {name}",
    unreachable: "Le service d'achats partagés est injoignable depuis ce site.",
    failed: "Impossible de créer le salon. Veuillez réessayer.",
    kicked: "Vous avez été retiré de ce salon.",
    gone: "Ce salon n'est plus disponible. Créez-en un nouveau.",
  },
  es: {
    title: "Comprar con amigos",
    intro: "Invita a tus amigos a un carrito compartido: ven lo que estás mirando, votan y chatean, desde cualquier móvil.",
    looking: "Estás viendo:",
    name: "Tu nombre",
    start: "Crear un carrito compartido",
    close: "Cerrar",
    roomName: "Compras de {name}",
    unreachable: "No se puede acceder al servicio de compras compartidas desde este sitio.",
    failed: "No se pudo crear la sala. Inténtalo de nuevo.",
    kicked: "Te han quitado de esa sala.",
    gone: "Esa sala ya no está disponible. Crea una nueva.",
  },
  ar: {
    title: "تسوّق مع الأصدقاء",
    intro: "ادعُ أصدقاءك إلى سلة مشتركة: يرون ما تشاهده ويصوّتون ويتحادثون من أي هاتف.",
    looking: "أنت تشاهد:",
    name: "اسمك",
    start: "ابدأ سلة مشتركة",
    close: "إغلاق",
    roomName: "تسوّق {name}",
    unreachable: "تعذّر الوصول إلى خدمة التسوّق المشترك من هذا الموقع.",
    failed: "تعذّر إنشاء الغرفة. حاول مرة أخرى.",
    kicked: "تمت إزالتك من تلك الغرفة.",
    gone: "هذه الغرفة لم تعد متاحة. ابدأ غرفة جديدة.",
  },
};

/** The start form's strings for a locale the launcher already resolved. */
export function panelStrings(locale) {
  return T[String(locale || "").split("-")[0].toLowerCase()] || T.en;
}
